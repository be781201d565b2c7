"""Dataset readers, the sample model and perturbations, on small real files written by each test."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import polars as pl
import pytest
from PIL import Image, ImageDraw

from vlmhb_core.errors import ConfigError, DatasetError
from vlmhyperbench.datasets import (
    FORMATS,
    ImageRef,
    Sample,
    SampleError,
    dataset_formats,
    read_dataset,
    register_reader,
    sniff_mime,
)
from vlmhyperbench.datasets.perturbations import PERTURBATIONS, parse_perturbation, perturb

HEADER = "data_index;split;image_path;question;answer;doc_class;question_type"


def png(text: str = "x", size: tuple[int, int] = (80, 40)) -> bytes:
    img = Image.new("L", size, 255)
    ImageDraw.Draw(img).text((5, 10), text, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg(text: str = "x") -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(png(text))).convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


# -- vlmhyperbench ---------------------------------------------------------------------------------


def test_vlmhyperbench_reads_rows_lazily(tmp_path):
    write(tmp_path / "img" / "a.png", png("a"))
    write(tmp_path / "img" / "b.jpg", jpeg("b"))
    write(
        tmp_path / "annotation.csv",
        "\n".join(
            [
                HEADER + ";answer_bbox",
                '1;test;img/a.png;What is it?;["A", "a"];invoice;name;[1,2,3,4]',
                '2;train;img/b.jpg;Transcribe;"line one\nline two";receipt;full_text;',
            ]
        )
        + "\n",
    )
    s = read_dataset("vlmhyperbench", tmp_path)
    assert [x.id for x in s] == ["1", "2"]
    assert s[0].references == ("A", "a") and s[0].doc_class == "invoice" and s[0].question_type == "name"
    assert s[1].references == ("line one\nline two",) and s[1].split == "train"
    assert s[0].images[0].mime == "image/png" and s[1].images[0].mime == "image/jpeg"
    assert s[1].images[0].read_bytes()[:3] == b"\xff\xd8\xff"
    assert s[0].error is None and s[0].images[0].data is None  # nothing read yet


def test_vlmhyperbench_bom_comma_and_csv_file_path(tmp_path):
    write(tmp_path / "pics" / "a.png", png())
    text = "\ufeff" + HEADER.replace(";", ",") + "\n7,test,pics/a.png,Q?,yes,form,other\n"
    write(tmp_path / "ocr.csv", text.encode("utf-8"))
    (s,) = read_dataset("vlmhyperbench", tmp_path / "ocr.csv")
    assert (s.id, s.question, s.references, s.doc_class) == ("7", "Q?", ("yes",), "form")


def test_vlmhyperbench_missing_file_and_column(tmp_path):
    with pytest.raises(DatasetError, match=r"annotation\.csv: annotation file not found"):
        read_dataset("vlmhyperbench", tmp_path)
    write(tmp_path / "annotation.csv", "data_index;split;question;answer\n1;test;q;a\n")
    with pytest.raises(DatasetError, match=r"annotation\.csv:1: column 'image_path': missing"):
        read_dataset("vlmhyperbench", tmp_path)


def test_vlmhyperbench_error_names_line_of_bad_row(tmp_path):
    rows = [
        HEADER,
        "1;test;a.png;q;a;x;y",
        '2;test;a.png;q;"multi\nline";x;y',
        "3;test;a.png;q;a;x;y;z;extra",
    ]
    write(tmp_path / "annotation.csv", "\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match=r"annotation\.csv:5: 9 cells but the header has 7"):
        read_dataset("vlmhyperbench", tmp_path)


def test_duplicate_ids_name_both_lines(tmp_path):
    write(tmp_path / "annotation.csv", f"{HEADER}\n1;t;a.png;q;a;x;y\n1;t;b.png;q;a;x;y\n")
    dup = r"annotation\.csv:3: field 'id': sample id '1' already used at .*csv:2"
    with pytest.raises(DatasetError, match=dup):
        read_dataset("vlmhyperbench", tmp_path)


# -- confinement and per-sample errors -------------------------------------------------------------


def test_paths_leaving_the_dataset_fail_their_sample_only(tmp_path):
    root = tmp_path / "ds"
    write(tmp_path / "secret.png", png())
    write(root / "ok.png", png())
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "linkdir").symlink_to(tmp_path)
    (root / "inside.png").symlink_to(root / "ok.png")
    rows = [
        "1;t;ok.png;q;a;x;y",
        "2;t;../secret.png;q;a;x;y",
        f"3;t;{tmp_path / 'secret.png'};q;a;x;y",
        "4;t;link.png;q;a;x;y",
        "5;t;linkdir/secret.png;q;a;x;y",
        "6;t;inside.png;q;a;x;y",
        "7;t;sub/../ok.png;q;a;x;y",
    ]
    write(root / "annotation.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    s = {x.id: x for x in read_dataset("vlmhyperbench", root)}
    for bad in "2345":
        assert s[bad].images == () and "leaves the dataset folder" in s[bad].error, bad
    for good in "167":
        assert s[good].error is None and s[good].images[0].read_bytes() == png(), good


def test_missing_image_fails_on_read_not_on_load(tmp_path):
    write(tmp_path / "annotation.csv", f"{HEADER}\n1;t;nope.png;q;a;x;y\n")
    (s,) = read_dataset("vlmhyperbench", tmp_path)
    assert s.error is None
    with pytest.raises(SampleError, match=r"nope\.png: cannot read image"):
        s.images[0].read_bytes()
    with pytest.raises(SampleError):
        _ = s.images[0].mime


# -- docvqa ----------------------------------------------------------------------------------------


def test_docvqa(tmp_path):
    write(tmp_path / "documents" / "d1.png", png())
    doc = {
        "dataset_split": "val",
        "data": [
            {
                "questionId": 10,
                "question": "Who?",
                "image": "documents/d1.png",
                "answers": ["Ann", "ANN"],
                "question_types": ["form", "layout"],
                "docId": 1,
            },
            {"questionId": 11, "question": "When?", "image": "documents/d2.png"},
        ],
    }
    write(tmp_path / "val_v1.0.json", json.dumps(doc, indent=1))
    a, b = read_dataset("docvqa", tmp_path / "val_v1.0.json")
    assert (a.id, a.references, a.question_type, a.split) == ("10", ("Ann", "ANN"), "form", "val")
    assert b.references == () and b.error is None
    assert a.images[0].read_bytes() == png()


def test_docvqa_bad_json_and_missing_field(tmp_path):
    f = write(tmp_path / "x.json", '{"data": [\n{"questionId": 1,\n"question": }\n]}')
    with pytest.raises(DatasetError, match=r"x\.json:3: bad JSON"):
        read_dataset("docvqa", f)
    write(f, json.dumps({"data": [{"questionId": 1, "question": "q"}]}))
    with pytest.raises(DatasetError, match=r"x\.json: data\[0\]: field 'image': missing"):
        read_dataset("docvqa", f)
    write(f, json.dumps({"rows": []}))
    with pytest.raises(DatasetError, match=r"field 'data'"):
        read_dataset("docvqa", f)


# -- jsonl -----------------------------------------------------------------------------------------


def test_jsonl_multi_page_and_task_fields(tmp_path):
    for n in (1, 2, 3):
        write(tmp_path / "pages" / f"p{n}.png", png(str(n)))
    lines = [
        {
            "id": "doc1",
            "images": ["pages/p1.png", "pages/p2.png", "pages/p3.png"],
            "question": "Order?",
            "order": [2, 0, 1],
            "doc_class": "report",
            "question_type": "ordering",
        },
        {"id": "c1", "image": "pages/p1.png", "label": "invoice", "classes": ["invoice", "receipt"]},
        {"id": "k1", "image": "pages/p2.png", "fields": {"total": "12.00", "date": "2024-01-02"}},
        {"id": "q1", "image": "pages/p3.png", "question": "Total?", "answers": ["12", 12.5]},
    ]
    write(tmp_path / "set.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    order, cls, kie, qa = read_dataset("jsonl", tmp_path / "set.jsonl")
    assert len(order.images) == 3 and order.order == (2, 0, 1) and order.references == ("[2, 0, 1]",)
    assert [i.read_bytes() for i in order.images] == [png("1"), png("2"), png("3")]
    assert cls.label == "invoice" and cls.classes == ("invoice", "receipt") and cls.references == ("invoice",)
    assert kie.fields == {"total": "12.00", "date": "2024-01-02"}
    assert json.loads(kie.references[0]) == kie.fields
    assert qa.references == ("12", "12.5") and qa.label is None and qa.fields is None


def test_jsonl_errors_name_file_line_and_field(tmp_path):
    f = write(tmp_path / "d.jsonl", '{"id": 1, "image": "a.png"}\n{"id": 2, "image": \n')
    with pytest.raises(DatasetError, match=r"d\.jsonl:2: bad JSON"):
        read_dataset("jsonl", f)
    write(f, '{"id": 1, "image": "a.png"}\n\n{"id": 2, "question": "q"}\n')
    with pytest.raises(DatasetError, match=r"d\.jsonl:3: field 'image': missing"):
        read_dataset("jsonl", f)
    write(f, '{"id": 1, "image": "a.png", "order": ["x"]}\n')
    with pytest.raises(DatasetError, match=r"d\.jsonl:1: field 'order'"):
        read_dataset("jsonl", f)
    with pytest.raises(DatasetError, match=r"nothere\.jsonl: file not found"):
        read_dataset("jsonl", tmp_path / "nothere.jsonl")


def test_jsonl_escape_in_one_page_fails_the_sample(tmp_path):
    write(tmp_path / "a.png", png())
    f = write(tmp_path / "d.jsonl", json.dumps({"id": "x", "images": ["a.png", "../../etc/passwd"]}) + "\n")
    (s,) = read_dataset("jsonl", f)
    assert s.images == () and "leaves the dataset folder" in s.error


# -- parquet ---------------------------------------------------------------------------------------


def test_parquet_shards_with_inline_bytes(tmp_path):
    folder = tmp_path / "hf" / "data"
    folder.mkdir(parents=True)
    for shard in range(2):
        rows = range(shard * 150, shard * 150 + 150)  # more than one read block per shard
        pl.DataFrame(
            {
                "questionId": [f"q{i}" for i in rows],
                "question": [f"What is {i}?" for i in rows],
                "answers": [[str(i), f"#{i}"] for i in rows],
                "image": [{"bytes": png(str(i)), "path": f"{i}.png"} for i in rows],
                "question_types": [["table"] for _ in rows],
            }
        ).write_parquet(folder / f"test-{shard:05d}-of-00002.parquet")
    s = read_dataset("parquet", tmp_path / "hf")
    assert len(s) == 300 and s[0].id == "q0" and s[299].id == "q299"
    assert s[5].references == ("5", "#5") and s[5].question_type == "table" and s[5].split == "test"
    assert s[0].images[0].data is None  # (file, row) reference, not bytes in memory
    assert s[123].images[0].read_bytes() == png("123")
    assert s[250].images[0].read_bytes() == png("250") and s[250].images[0].mime == "image/png"
    shard = folder / "test-00001-of-00002.parquet"
    one = read_dataset("parquet", shard, max_samples=3)
    assert [x.id for x in one] == [x.id for x in read_dataset("parquet", shard, max_samples=3)]
    assert one[0].images[0].read_bytes() == png(one[0].id[1:])


def test_parquet_multi_page_path_fallback_and_missing_column(tmp_path):
    write(tmp_path / "side.png", png("side"))
    pl.DataFrame(
        {
            "id": ["a", "b"],
            "question": ["q", "q"],
            "answers": [["1"], ["2"]],
            "images": [
                [{"bytes": png("p1"), "path": None}, {"bytes": png("p2"), "path": None}],
                [{"bytes": None, "path": "side.png"}],
            ],
        },
        schema_overrides={"images": pl.List(pl.Struct({"bytes": pl.Binary, "path": pl.String}))},
    ).write_parquet(tmp_path / "one.parquet")
    a, b = read_dataset("parquet", tmp_path / "one.parquet")
    assert [i.read_bytes() for i in a.images] == [png("p1"), png("p2")]
    assert b.images[0].read_bytes() == png("side")
    pl.DataFrame({"id": ["a"], "question": ["q"]}).write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DatasetError, match=r"bad\.parquet: field 'image': missing"):
        read_dataset("parquet", tmp_path / "bad.parquet")


# -- filters, max_samples, registry ----------------------------------------------------------------


@pytest.fixture
def mixed(tmp_path) -> Path:
    kinds = [("invoice", "date"), ("form", "date"), ("invoice", "total"), ("form", "total")]
    rows = [
        f"{i};{'test' if i % 3 else 'train'};a.png;q;a;{kinds[i % 4][0]};{kinds[i % 4][1]}"
        for i in range(200)
    ]
    write(tmp_path / "annotation.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    return tmp_path


def test_filters_apply_before_max_samples(mixed):
    s = read_dataset("vlmhyperbench", mixed, split="test", doc_classes=["form"], question_types=["total"])
    assert s and all((x.split, x.doc_class, x.question_type) == ("test", "form", "total") for x in s)
    few = read_dataset(
        "vlmhyperbench", mixed, split="test", doc_classes=["form"], question_types=["total"], max_samples=5
    )
    assert len(few) == 5 and all(x in s for x in few)
    assert read_dataset("vlmhyperbench", mixed, doc_classes=[], question_types=None) == read_dataset(
        "vlmhyperbench", mixed
    )


def test_max_samples_is_stable_spread_and_in_file_order(mixed):
    a = [x.id for x in read_dataset("vlmhyperbench", mixed, max_samples=20)]
    assert a == [x.id for x in read_dataset("vlmhyperbench", mixed, max_samples=20)]
    assert a == sorted(a, key=int) and len(a) == 20
    assert max(map(int, a)) > 100 and min(map(int, a)) < 100  # not just the head of the file
    assert set(a) <= {x.id for x in read_dataset("vlmhyperbench", mixed, max_samples=50)}
    assert read_dataset("vlmhyperbench", mixed, max_samples=0) == []
    assert len(read_dataset("vlmhyperbench", mixed, max_samples=10_000)) == 200


def test_unknown_format_and_plugin_reader(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown dataset format 'csv' \(allowed: .*jsonl.*vlmhyperbench"):
        read_dataset("csv", tmp_path)
    assert {"vlmhyperbench", "docvqa", "jsonl", "parquet"} <= set(dataset_formats())

    @register_reader("test-inline")
    def _inline(path: Path) -> list[Sample]:
        return [Sample(id="x", images=(ImageRef(data=png()),), question="q")]

    try:  # the registry is the process's: a later test on this worker must not see the format
        (s,) = read_dataset("test-inline", tmp_path)
    finally:
        FORMATS.remove("test-inline")
    assert s.images[0].mime == "image/png"


def test_sniff_mime():
    assert sniff_mime(png()) == "image/png" and sniff_mime(jpeg()) == "image/jpeg"
    assert sniff_mime(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp" and sniff_mime(b"II*\0....") == "image/tiff"
    assert sniff_mime(b"hello") == "application/octet-stream"


def test_default_dataset_reads_cleanly():
    data = Path(__file__).resolve().parents[2] / "configs" / "default" / "data"
    ocr = read_dataset("vlmhyperbench", data / "ocr.csv")
    vqa = read_dataset("vlmhyperbench", data / "vqa.csv")
    assert len(ocr) == 36 and 2 * 36 <= len(vqa) <= 4 * 36
    assert {s.doc_class for s in ocr} == {"form", "receipt", "invoice"}
    assert all(s.error is None and s.images[0].path.is_file() for s in ocr + vqa)
    assert all(s.references and s.references[0].strip() for s in ocr + vqa)


# -- perturbations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["blur:2", "noise:20", "rotate:3", "jpeg:40", "low_contrast:0.3", "noise+rotate:1+jpeg"]
)
def test_perturbations_are_deterministic_per_sample(spec):
    src = jpeg("hello")
    out = perturb(src, spec, "sample-1")
    assert out == perturb(src, spec, "sample-1") and out != src
    assert sniff_mime(out) == ("image/jpeg" if spec.split("+")[-1].startswith("jpeg") else "image/png")
    Image.open(io.BytesIO(out)).load()
    if spec.startswith(("noise", "rotate")):
        others = {perturb(src, spec, f"sample-{i}") for i in range(2, 6)}
        assert len(others | {out}) > 1  # the seed follows the sample


def test_perturbation_spec_errors():
    assert (
        str(parse_perturbation("blur")) == "blur:1.5"
        and str(parse_perturbation(" noise:3 + jpeg")) == "noise:3+jpeg:30"
    )
    assert not parse_perturbation("") and not parse_perturbation("none")
    assert perturb(b"anything", "", "k") == b"anything"
    with pytest.raises(ConfigError, match=r"unknown perturbation 'blurr'.*allowed: blur, jpeg, low_contrast"):
        parse_perturbation("blurr:2")
    with pytest.raises(ConfigError, match=r"'rotate': value 'x' is not a number"):
        parse_perturbation("rotate:x")
    with pytest.raises(ConfigError, match=r"'jpeg': value 0 is outside 1..95"):
        parse_perturbation("jpeg:0")
    assert set(PERTURBATIONS) == {"blur", "noise", "rotate", "jpeg", "low_contrast"}


def test_perturb_keeps_rgba_on_white():
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    out = Image.open(io.BytesIO(perturb(buf.getvalue(), "low_contrast:1", "k")))
    assert out.mode == "RGB" and out.getpixel((10, 10)) == (255, 255, 255)


def test_symlinked_dataset_root_is_fine(tmp_path):
    real = tmp_path / "real"
    write(real / "a.png", png())
    write(real / "annotation.csv", f"{HEADER}\n1;t;a.png;q;a;x;y\n")
    os.symlink(real, tmp_path / "alias")
    (s,) = read_dataset("vlmhyperbench", tmp_path / "alias")
    assert s.error is None and s.images[0].read_bytes() == png()
