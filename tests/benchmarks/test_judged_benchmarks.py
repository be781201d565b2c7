"""MMLongBench-Doc and CharXiv read from their hub layouts: pages, dpi and max_pages (120 by default),
evidence pages only when the row asks, CharXiv's file names and withheld test answers; their rows in
datasets.csv (what is refused, and the official judge named when none is); their official texts, word for
word; and their sample bundles (`vlmhb bundle sample`; CharXiv's: five questions a chart), which are
labelled synthetic wherever they go."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from flows.cli.bundle import main as bundle_main
from vlmhb_core.errors import ConfigErrors
from vlmhyperbench.benchmarks import (
    BENCHMARKS,
    _charxiv_texts,
    _mmlongbench_texts,
    data_record,
    import_bundle,
    read_manifest,
    resolve_source,
)
from vlmhyperbench.benchmarks._samples import sample_chart, sample_charxiv
from vlmhyperbench.benchmarks._starter import write_charxiv, write_mmlongbench_doc
from vlmhyperbench.config import expand_plan, load_catalog, synthetic_datasets
from vlmhyperbench.datasets import PageOptions

MMLB = BENCHMARKS.get("mmlongbench_doc")
CHARXIV = BENCHMARKS.get("charxiv")


def mm_folder(tmp_path: Path) -> Path:
    rows = [
        {
            "doc_id": doc,
            "doc_type": "Guidebook",
            "question": f"Q{i}?",
            "answer": "1",
            "evidence_pages": pages,
            "evidence_sources": "['Chart']",
            "answer_format": "Int",
        }  # fmt: skip
        for i, (doc, pages) in enumerate(
            [("long.pdf", "[2, 125]"), ("short.pdf", "[]"), ("gone.pdf", "[1]"), ("short.pdf", "[3, 1]")]
        )
    ]
    documents = {"long.pdf": [[f"page {n}"] for n in range(1, 131)], "short.pdf": [["a"], ["b"], ["c"]]}
    write_mmlongbench_doc(tmp_path / "mm", rows=rows, documents=documents)
    return tmp_path / "mm"


def pages_of(sample) -> list[int]:
    return [p.index + 1 for p in sample.images]


def test_every_page_up_to_120_at_the_rows_dpi(tmp_path):
    folder = mm_folder(tmp_path)
    long, short, gone, _ = MMLB.read(folder)
    assert pages_of(long) == list(range(1, 121)) and long.dpi == 144  # the official defaults
    assert pages_of(short) == [1, 2, 3] and short.error is None
    assert "gone.pdf" in gone.error and not gone.images  # a missing document fails its question only
    assert (long.doc_class, long.question_type, long.references) == ("Guidebook", "Int", ("1",))
    assert long.annotation["evidence_pages"] == "[2, 125]" and long.annotation["order"] == 0
    (long, *_) = MMLB.read(folder, options=PageOptions.of(dpi=360, max_pages=130))
    assert len(long.images) == 130 and long.images[0].dpi == 360
    (long, *_) = MMLB.read(
        folder / "data" / "train-00000-of-00001.parquet", options=PageOptions.of(pages="3-4")
    )
    assert pages_of(long) == [3, 4]


def test_evidence_pages_only_when_the_row_asks(tmp_path):
    long, short, _, both = MMLB.read(mm_folder(tmp_path), options=PageOptions.of(pages="evidence"))
    assert pages_of(long) == [2, 125] and pages_of(both) == [1, 3]
    assert short.images == () and short.error is None  # an unanswerable question: sent without pages


def test_charxiv_reads_its_hub_file_names(tmp_path):
    sample_charxiv(tmp_path / "cx", samples=2)
    write_charxiv(tmp_path / "cx", [sample_chart(i) for i in range(3)], split="test")  # answers withheld
    validation = CHARXIV.read(tmp_path / "cx")
    figures = [[f"{fid}_0", f"{fid}_1", f"{fid}_2", f"{fid}_3", fid] for fid in ("1000", "1001")]
    assert [s.id for s in validation] == figures[0] + figures[1]
    test = CHARXIV.read(tmp_path / "cx", "test")
    assert len(test) == 15 and all(not s.references for s in test)
    number = next(s for s in test if s.annotation.get("inst_category") == 4)
    assert number.question.endswith("\n    \n    ")  # the decimal places come from the withheld answer
    converted = tmp_path / "convert" / "default" / "validation"
    converted.mkdir(parents=True)
    (tmp_path / "cx" / "val.parquet").rename(converted / "0000.parquet")  # the hub's parquet conversion
    assert [s.id for s in CHARXIV.read(tmp_path / "convert")] == [s.id for s in validation]
    assert "val.parquet" in CHARXIV.file_patterns("validation")


MODELS = """name;backend;model;base_url;env
cand;openai;c;http://127.0.0.1:9/v1;none
judge;openai;gpt-4o;http://127.0.0.1:9/v1;none
"""


def errors_of(write_config, datasets: str, plan: str | None = None) -> str:
    files = {"models.csv": MODELS, "datasets.csv": datasets}
    if plan:
        files["plan.csv"] = plan
    root = write_config(files)
    if plan is None:
        (root / "plan.csv").unlink(missing_ok=True)
    try:
        expand_plan(load_catalog(root, check_paths=False))
    except ConfigErrors as exc:
        return str(exc)
    return ""


def test_the_rows_refuse_what_does_not_apply(write_config):
    no_judge = errors_of(write_config, "name;benchmark;path\ncx;charxiv;cx\n")
    assert "datasets.csv:2: column 'judge'" in no_judge and "gpt-4o-2024-05-13" in no_judge
    assert "seed 42" in no_judge  # the official judge, named
    images = errors_of(
        write_config, "name;benchmark;path;judge;judge_images\nmm;mmlongbench_doc;mm;judge;yes\n"
    )
    assert "column 'judge_images'" in images and "text only" in images
    plan = "model;dataset;judge_images\ncand;cx;yes\n"
    assert "plan.csv:2: column 'judge_images'" in errors_of(
        write_config, "name;benchmark;path;judge\ncx;charxiv;cx;judge\n", plan
    )
    each = errors_of(write_config, "name;benchmark;path;judge;pages\nmm;mmlongbench_doc;mm;judge;each\n")
    assert "column 'pages': benchmark 'mmlongbench_doc' does not take pages=each" in each
    evidence = errors_of(write_config, "name;task;format;path;pages\nd;vqa;pdf;d;evidence\n")
    assert "column 'pages': format 'pdf' does not take pages=evidence" in evidence
    dpi = errors_of(write_config, "name;benchmark;path;judge;dpi\ncx;charxiv;cx;judge;200\n")
    assert "column 'dpi': benchmark 'charxiv' reads images, not PDFs" in dpi
    ok = "name;benchmark;path;judge;pages;dpi;max_pages\nmm;mmlongbench_doc;mm;judge;evidence;360;120\n"
    assert errors_of(write_config, ok) == ""


# sha256 of each official text (json.dumps(value, sort_keys=True, ensure_ascii=False)), recorded from
# princeton-nlp/CharXiv src/constants.py at 7ebe88f and mayubo2333/MMLongBench-Doc
# eval/prompt_for_answer_extraction.md at d73f0dc (the prompt: the sha256 of its text as read)
OFFICIAL_TEXTS = {
    "DESCRIPTIVE_GRADING_ICL": "7eae4bc6bf96649641274a9f4398916e5923986a6a9f4801217e80d009ed856e",
    "DESCRIPTIVE_GRADING_PREFIX": "574a312c336ffdff0a26583d45d8108c85c03ee238db0215ae9fdb1c623da587",
    "DESCRIPTIVE_GRADING_QMAP": "f35f98e51bc3ba53ad632570a34e74e1f416ddad9def85ec877a8c2259d8985d",
    "DESCRIPTIVE_RESP_INST": "4a22037683ecffb95ee5e7c55a745fa2fb6384d6b62a08f3da6e969e77009e85",
    "REASONING_GRADING_INST": "d3f046199f9b13d09ed286ce35f76f3818aa353b49b7860470353c543fa67f6b",
    "REASONING_GRADING_PREFIX": "942930e90eba784f3da369a9cceeef0912fed3d434bb7dc1c025e326051a4dcd",
    "REASONING_RESP_INST": "dd788d95518121374bab68991573c7da6d85eb4c4220969c96e8aeacae25b2b5",
}
EXTRACTION_PROMPT = "96a22c3003c22801f1f19717be45070b1d6b9ce76b42e171e044f63b641de659"


def test_the_official_texts_are_word_for_word():
    for name, digest in OFFICIAL_TEXTS.items():
        value = json.dumps(getattr(_charxiv_texts, name), sort_keys=True, ensure_ascii=False)
        assert hashlib.sha256(value.encode()).hexdigest() == digest, name
    prompt = _mmlongbench_texts.EXTRACTION_PROMPT
    assert hashlib.sha256(prompt.encode()).hexdigest() == EXTRACTION_PROMPT
    enum = _charxiv_texts.DESCRIPTIVE_GRADING_ICL["enum"]
    assert "Response 3: \x07lpha, \x08eta, \\gamma^t_v" in enum  # \a and \b of the official literal
    assert "an interger in [0, 1]" in _charxiv_texts.REASONING_GRADING_PREFIX  # the official spelling


@pytest.mark.parametrize("benchmark", ["mmlongbench_doc", "charxiv"])
def test_a_sample_bundle_is_labelled_synthetic_wherever_it_goes(tmp_path, benchmark, capsys):
    out = tmp_path / f"{benchmark}.tar.gz"
    assert bundle_main(["sample", benchmark, str(out), "--samples", "3"]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and f"{benchmark}-sample;{benchmark};{out}" in printed
    folder = import_bundle(out, tmp_path / "imported")  # (a run imports a tarball into VLMHB_CACHE_DIR)
    source = resolve_source(str(folder), benchmark=BENCHMARKS.get(benchmark))
    assert source.kind == "bundle" and source.synthetic and read_manifest(source.path).synthetic
    assert "SYNTHETIC SAMPLE DATA: not" in (source.path / "README.md").read_text()
    samples = BENCHMARKS.get(benchmark).read(source.path)
    assert samples and all(s.error is None for s in samples)
    if benchmark == "charxiv":  # five questions a chart; each chart's title says it is synthetic
        reasoning = [s for s in samples if s.doc_class == "reasoning"]
        assert len(samples) == 15 and all(s.question.startswith("[synthetic]") for s in reasoning)
    else:
        assert len(samples) == 3 and all(s.question.startswith("[synthetic]") for s in samples)
    assert data_record(BENCHMARKS.get(benchmark), source, None)["synthetic"] is True


def test_a_run_on_sample_data_records_and_says_that_it_is_synthetic(prefect_harness, tmp_path, write_config):
    from prefect import flow
    from prefect.logging import disable_run_logger

    from tasks.plan import record_data

    assert bundle_main(["sample", "charxiv", str(tmp_path / "cx"), "--samples", "1"]) == 0
    datasets = f"name;benchmark;path;judge\ncx;charxiv;{tmp_path / 'cx'};judge\n"
    catalog = load_catalog(write_config({"models.csv": MODELS, "datasets.csv": datasets}))
    pairs = expand_plan(catalog, models=["cand"])

    @flow
    def record():
        return record_data(catalog, pairs)

    with disable_run_logger():
        data = record()
    assert data["cx"].kind == "bundle" and data["cx"].synthetic is True and data["cx"].samples == 5
    (warning,) = synthetic_datasets(catalog, pairs)  # what `vlmhb run` prints before it starts
    assert (
        warning.startswith("dataset 'cx' reads SYNTHETIC sample data")
        and "say nothing about a model" in warning
    )
