"""The readers of OCRBench v2 (ling99/OCRBench_v2) and CC-OCR (wulipc/CC-OCR), in their hub layouts.

OCRBench v2: one split `test` (`data/test-*.parquet`), columns id, dataset_name, question, type, answers
(list of text), image, eval, bbox, bbox_list, content. The hub's uploader (lmms-eval's
upload_ocrbench_v2.py) wrote a dictionary answer as JSON text, a number as text, an absent `eval` as the
text "None", and a spotting question's boxes in `bbox_list`; each sample's annotation is the question as
the official OCRBench_v2.json holds it again (`eval` only where there is one, a chart's answer as a
dictionary, the spotting boxes in `bbox`), which is what the official eval.py scores.

CC-OCR: configs multi_scene_ocr, multi_lan_ocr, doc_parsing and kie (`CONFIG/test-*.parquet`), columns
image (base64 text), question, answer, image_name, split (the official dataset), l2-category. One
datasets.csv row reads every config present; a sample's doc_class is its dataset, its question_type its
track, its annotation {track, dataset, op}. A dataset the official index does not have is an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks._layout import Layout, answers, read_rows
from vlmhyperbench.datasets import Sample
from vlmhyperbench.datasets._common import UniqueIds, as_text

OCRBENCH_V2 = Layout(
    config=None,
    columns=(
        ("id",), ("dataset_name",), ("question",), ("type",), ("answers",), ("eval",), ("bbox",),
        ("bbox_list",), ("content",),
    ),
    required=("question", "type", "answers"),
)  # fmt: skip
CC_OCR_CONFIGS = ("multi_scene_ocr", "multi_lan_ocr", "doc_parsing", "kie")
CC_OCR = Layout(
    config=None,
    columns=(("question",), ("answer",), ("image_name",), ("split",), ("l2-category",)),
    required=("question", "answer", "image_name", "split"),
)


def _int_list(value: Any) -> list | None:
    if value is None:
        return None
    return [_int_list(v) if isinstance(v, (list, tuple)) else int(v) for v in value]


def official_item(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """The question as OCRBench_v2.json holds it, from a hub row."""
    kind = as_text(obj.get("type"))
    gold = list(answers(obj.get("answers")))
    if kind == "chart parsing en" and gold:
        try:
            gold[0] = json.loads(gold[0])  # the uploader's json.dumps of the chart's dictionary
        except ValueError:
            raise DatasetError(
                f"{where}: field 'answers': a chart's answer is not JSON: {gold[0][:80]!r}"
            ) from None
    item: dict[str, Any] = {"type": kind, "question": as_text(obj.get("question")), "answers": gold}
    method = obj.get("eval")
    if method is not None and as_text(method) != "None":
        item["eval"] = as_text(method)
    boxes = obj.get("bbox_list") if kind == "text spotting en" else obj.get("bbox")
    if boxes is not None:
        item["bbox"] = _int_list(boxes)
    if obj.get("content") is not None:
        item["content"] = [as_text(c) for c in obj["content"]]
    return item


def read_ocrbench_v2(path: Path, split: str | None = None) -> list[Sample]:
    """OCRBench v2: question_type = the type (30 of them), doc_class = the source dataset."""
    split = split or "test"
    samples, ids = [], UniqueIds()
    for n, (file, row, obj, image) in enumerate(read_rows(path, OCRBENCH_V2, split)):
        where = f"{file}: row {row}"
        if not as_text(obj.get("type")):
            raise DatasetError(f"{where}: field 'type': empty")
        sample_id = as_text(obj["id"]) if obj.get("id") is not None else f"{split}-{n:05d}"
        ids.add(sample_id, where)
        item = official_item(obj, where)
        samples.append(
            Sample(
                id=sample_id,
                images=(image,),
                question=item["question"],
                references=tuple(
                    a if isinstance(a, str) else json.dumps(a, ensure_ascii=False) for a in item["answers"]
                ),
                question_type=item["type"],
                doc_class=as_text(obj.get("dataset_name")),
                split=split,
                annotation=item,
                where=where,
            )
        )
    return samples


def read_cc_ocr(path: Path, split: str | None = None) -> list[Sample]:
    """CC-OCR: every config folder under PATH (or PATH itself when it is one config's folder)."""
    from metrics._ccocr import DOC_PARSING, TRACKS, doc_op

    split = split or "test"
    path = Path(path)
    if path.name in CC_OCR_CONFIGS and not any((path / c).is_dir() for c in CC_OCR_CONFIGS):
        folders = [(path.name, path)]
    else:
        folders = [(c, path / c) for c in CC_OCR_CONFIGS if (path / c).is_dir()]
    if not folders:
        raise DatasetError(f"{path}: no CC-OCR config folder ({', '.join(CC_OCR_CONFIGS)})")
    samples, ids = [], UniqueIds()
    for track, folder in folders:
        for file, row, obj, image in read_rows(folder, CC_OCR, split):
            where = f"{file}: row {row}"
            dataset = as_text(obj.get("split"))
            if dataset not in TRACKS[track]:
                raise DatasetError(
                    f"{where}: field 'split': {dataset!r} is not a CC-OCR {track} dataset "
                    f"(the official index has: {', '.join(TRACKS[track])})"
                )
            sample_id = f"{track}/{dataset}/{as_text(obj.get('image_name'))}"
            ids.add(sample_id, where)
            note = {"track": track, "dataset": dataset}
            if track == DOC_PARSING:
                note["op"] = doc_op(dataset)
            samples.append(
                Sample(
                    id=sample_id,
                    images=(image,),
                    question=as_text(obj.get("question")),
                    references=(as_text(obj.get("answer")),),
                    doc_class=dataset,
                    question_type=track,
                    split=split,
                    annotation=note,
                    where=where,
                )
            )
    return samples
