"""Writing the sample explorer of a run: `RUN/samples.html` (the viewer alone) and its data under
`RUN/samples/`, rewritten with every report (a rescore included).

    samples.html              the viewer: its script inline (allowed by its hash in the page's CSP)
    samples/data/index.js     what the list filters and sorts: per dataset, every sample's id, class, question
                              type, first page's thumbnail, and per system its metric values, latency, failure
                              and judge-rule disagreement
    samples/data/DN/CK.js     chunk K of dataset N: CHUNK samples with their prompt, references, pages and
                              every system's answer in full (loaded when one of its samples is opened)
    samples/pages/, thumbs/   page images (explorer.pages)

The data are JavaScript files that call `VLMHB.index(...)` and `VLMHB.chunk(...)`: a page opened from
file:// may load scripts of its folder, where it may not fetch JSON. The folder is written beside the old one
and swapped in, so a page open during a rescore reads one run's data or the other's.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import time
from pathlib import Path

from vlmhyperbench.report.explorer.answers import DatasetAnswers, System, dataset_answers, systems_by_dataset
from vlmhyperbench.report.explorer.pages import THUMB_BUDGET_S, PageWriter

SAMPLES_HTML = "samples.html"
DATA = "samples/data"
CHUNK = 100
"""Samples per chunk file: one chunk of a 3-model OCR run is about 1 MB, parsed in a few milliseconds."""
DIGITS = 4


def write_explorer(
    run,
    manifest,
    scores,
    datasets_cfg: dict[str, dict],
    primary: dict[str, tuple[str, bool]],
    *,
    thumbnails: bool = True,
    thumbnail_budget_s: float | None = None,
) -> dict:
    """Writes samples.html and samples/ for RUN; returns what it wrote (samples, answers, chunks, pages
    written, thumbnails made, seconds)."""
    from metrics import REASONING_TAGS, parse_reasoning
    from vlmhyperbench.report.data import dataset_samples

    started = time.perf_counter()
    root = Path(run.root)
    pages = PageWriter(root, thumbnails=thumbnails)
    by_dataset = systems_by_dataset(run, manifest)
    all_systems: list[System] = list(dict.fromkeys(s for group in by_dataset.values() for s in group))
    datasets, chunks = [], []
    for number, (name, systems) in enumerate(by_dataset.items()):
        cells = datasets_cfg.get(name, {})
        try:
            reasoning = parse_reasoning(cells.get("reasoning"))
        except ValueError:
            reasoning = REASONING_TAGS
        samples = {s.id: s for s in dataset_samples(cells, manifest.config)}
        found = dataset_answers(run, manifest, name, systems, scores, list(samples), reasoning)
        main = primary.get(name, (found.metrics[0] if found.metrics else None, True))[0]
        index, records = _dataset(
            found, number, main, samples, pages, [all_systems.index(s) for s in systems]
        )
        datasets.append(index)
        chunks += [(number, k, records[i : i + CHUNK]) for k, i in enumerate(range(0, len(records), CHUNK))]
    pages.finish(budget_s=THUMB_BUDGET_S if thumbnail_budget_s is None else thumbnail_budget_s)
    if pages.made["deferred"]:
        from vlmhyperbench.report.write import get_logger

        get_logger().info(
            "samples.html: %d thumbnails left for the next report (time budget); the list shows those pages "
            "scaled meanwhile",
            pages.made["deferred"],
        )
    index = {
        "version": 1,
        "run_id": run.run_id,
        "chunk": CHUNK,
        "origin": root.resolve().as_uri() + "/",
        "systems": [
            {"model": s.model, "perturbation": s.perturbation, "label": s.label} for s in all_systems
        ],
        "datasets": datasets,
    }
    _write_data(root, index, chunks)
    _atomic_text(root / SAMPLES_HTML, render_viewer(run.run_id))
    return {
        "samples": sum(len(d["ids"]) for d in datasets),
        "answers": sum(v is not None for d in datasets for column in d["fail"] for v in column),
        "chunks": len(chunks),
        **pages.made,
        "seconds": time.perf_counter() - started,
    }


def _dataset(
    found: DatasetAnswers, number: int, main: str | None, samples: dict, pages: PageWriter, systems: list[int]
) -> tuple[dict, list[dict]]:
    """The index entry of one dataset and its sample records (chunked by the caller)."""
    classes: dict[str, int] = {}
    qtypes: dict[str, int] = {}
    dc, qt, thumbs, records = [], [], [], []
    values = {m: [[] for _ in found.systems] for m in found.metrics}
    lat, fail, jr = ([[] for _ in found.systems] for _ in range(3))
    for sid in found.ids:
        per_system = [a.get(sid) for a in found.answers]
        first = next(a for a in per_system if a is not None)
        sample = samples.get(sid)
        doc_class = first["doc_class"] or (getattr(sample, "doc_class", "") or "")
        question_type = first["question_type"] or (getattr(sample, "question_type", "") or "")
        dc.append(classes.setdefault(doc_class, len(classes)))
        qt.append(qtypes.setdefault(question_type, len(qtypes)))
        shown = [pages.page(src) for src in (getattr(sample, "images", ()) or ())]
        thumbs.append(shown[0] if shown else None)
        for k, a in enumerate(per_system):
            for m in found.metrics:
                values[m][k].append(_round(a["scores"].get(m)) if a else None)
            lat[k].append(_round(a["latency_s"]) if a else None)
            fail[k].append(None if a is None else int(a["error"] is not None))
            jr[k].append(None if a is None or a["judge_rule"] is None else int(a["judge_rule"]))
        prompts = {a["prompt"] for a in per_system if a is not None}
        common = prompts.pop() if len(prompts) == 1 else None
        refs = next((a["references"] for a in per_system if a and a["references"]), [])
        records.append(
            {
                "id": sid,
                "question": getattr(sample, "question", None) if sample is not None else None,
                "prompt": common,
                "references": refs,
                "doc_class": doc_class,
                "question_type": question_type,
                "pages": shown,  # Page objects: their URLs are known once the pages are written
                "answers": [_answer_record(a, common) for a in per_system],
            }
        )
    index = {
        "name": found.name,
        "dir": f"d{number}",
        "main": main,
        "metrics": found.metrics,
        "hib": [found.higher_is_better.get(m, True) for m in found.metrics],
        "systems": systems,
        "ids": found.ids,
        "classes": list(classes),
        "qtypes": list(qtypes),
        "dc": dc,
        "qt": qt,
        "thumbs": thumbs,
        "values": [values[m] for m in found.metrics],
        "lat": lat,
        "fail": fail,
        "jr": jr,
        "judged": any(v is not None for col in jr for v in col),
    }
    return index, records


def _answer_record(a: dict | None, common_prompt: str | None) -> dict | None:
    if a is None:
        return None
    out = {
        k: v for k, v in a.items() if v is not None and k not in ("references", "doc_class", "question_type")
    }
    if common_prompt is not None:
        out.pop("prompt", None)
    for k in ("latency_s", "ttft_s"):
        if k in out:
            out[k] = _round(out[k])
    out["scores"] = {m: _round(v) for m, v in a["scores"].items()}
    return out


def _round(value):
    return None if value is None else round(value, DIGITS)


def _write_data(root: Path, index: dict, chunks: list[tuple[int, int, list[dict]]]) -> None:
    """samples/data/, written beside the old one and swapped in."""
    final = root / DATA
    tmp = final.with_name(f".data.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for d in index["datasets"]:
        (tmp / d["dir"]).mkdir()
        d["thumbs"] = [p.thumb if p is not None and p.thumb else (p.src if p is not None else None)
                       for p in d["thumbs"]]  # fmt: skip
    for number, k, records in chunks:
        for r in records:
            r["pages"] = [p.record() for p in r["pages"]]
        body = _json(records)
        (tmp / f"d{number}" / f"c{k:05d}.js").write_bytes(
            b"VLMHB.chunk(%d,%d," % (number, k) + body + b");\n"
        )
    (tmp / "index.js").write_bytes(b"VLMHB.index(" + _json(index) + b");\n")
    old = final.with_name(f".data.{os.getpid()}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _json(value) -> bytes:
    try:
        import orjson

        return orjson.dumps(value, default=str)
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")).encode()


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def render_viewer(run_id: str) -> str:
    """samples.html: the viewer's markup, style and script; the script is allowed by its sha256 in the CSP
    (no other script runs but the data files of samples/data, loaded from the page's own folder)."""
    from importlib.resources import files

    from vlmhyperbench.report.html import _templates

    script = files("vlmhyperbench.report").joinpath("templates/samples.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    template = _templates().get_template("samples.html.j2")
    return template.render(run_id=run_id, script=script, script_hash=f"sha256-{digest}", data=DATA)
