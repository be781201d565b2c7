# ruff: noqa: E501  (figures recorded from the official code, one per line)
"""CC-OCR's official evaluators and OCRBench v2's readers: figures recorded by running the official code
(AdvancedLiterateMachinery Benchmarks/CC-OCR/evaluation, MultimodalOCR OCRBench_v2/eval_scripts at the
commits named in metrics/README.md) on the answers of tests/scorers/ocr_cases.py. Fast: no environment."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

import metrics
import vlmhyperbench.scorers  # noqa: F401  (registers the scorer metrics)
from metrics._ccocr import kie_answer, normalize_dict, ocr_f1
from tests.scorers.ocr_cases import CC_OCR, OCRBENCH_V2
from vlmhb_core.errors import DatasetError
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.benchmarks._ocr_readers import read_cc_ocr, read_ocrbench_v2
from vlmhyperbench.benchmarks._starter import write_cc_ocr, write_ocrbench_v2

# The official evaluators' figures on CC_OCR (common.summary's per-track mean over datasets).
OFFICIAL_TRACKS = {
    "cc_ocr_multi_scene_ocr": 0.5694444431586612,
    "cc_ocr_multi_lan_ocr": 0.7428571412112923,
    "cc_ocr_doc_parsing": 0.967272727030909,
    "cc_ocr_kie": 0.36666657092780436,
    "cc_ocr_kie_acc": 0.3624998185688407,
}
OFFICIAL_DATASETS = {  # track metric -> dataset -> the evaluator's per-dataset figure
    "cc_ocr_multi_scene_ocr": {"IC15": 0.24999999957812497, "zh_scene": 0.8888888873086419},
    "cc_ocr_multi_lan_ocr": {"French": 0.8571428555510203, "Japanese": 0.7999999985399999, "Korean": 0.5714285702857143},
    "cc_ocr_doc_parsing": {"doc_scan_eng": 0.96, "table_scan_eng": 1.0, "formula_handwriting": 0.9090909090909091,
                           "molecular_handwriting": 1.0},
    "cc_ocr_kie": {"POIE": 0.399999920000016, "COLD_SIBR": 0.33333322222225925},
    "cc_ocr_kie_acc": {"POIE": 0.34999982500008747, "COLD_SIBR": 0.37499981250009373},
}  # fmt: skip


@pytest.fixture(scope="module")
def cc_samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("cc") / "CC-OCR"
    write_cc_ocr(
        root, [{**row, "question": f"Read [{tag}]", "image_name": f"{tag}.jpg"} for tag, row, _ in CC_OCR]
    )
    return read_cc_ocr(root)


@pytest.fixture(scope="module")
def cc_table(cc_samples):
    answers = {f"{tag}.jpg": reply for tag, _, reply in CC_OCR}
    return pl.DataFrame(
        {
            "sample_id": [s.id for s in cc_samples],
            "prediction": [answers[s.id.split("/")[-1]] for s in cc_samples],
            "references": [list(s.references) for s in cc_samples],
            "annotation": [json.dumps(s.annotation) for s in cc_samples],
            "doc_class": [s.doc_class for s in cc_samples],
            "question_type": [s.question_type for s in cc_samples],
        }
    )


def test_cc_ocr_reader_reads_every_config_with_base64_images(cc_samples):
    assert len(cc_samples) == len(CC_OCR)
    first = cc_samples[0]
    assert first.id == "multi_scene_ocr/IC15/cc-ms1.jpg" and first.question_type == "multi_scene_ocr"
    assert first.doc_class == "IC15" and first.annotation == {"track": "multi_scene_ocr", "dataset": "IC15"}
    assert first.images[0].read_bytes().startswith(b"\x89PNG") and first.images[0].mime == "image/png"
    table = next(s for s in cc_samples if s.doc_class == "table_scan_eng")
    assert table.annotation["op"] == "table"


def test_cc_ocr_reader_names_an_unknown_dataset(tmp_path):
    write_cc_ocr(tmp_path, [{"config": "kie", "split": "POIE2", "question": "q", "answer": "{}"}])
    with pytest.raises(DatasetError, match=r"test-00000-of-00001.parquet: row 0: field 'split': 'POIE2'"):
        read_cc_ocr(tmp_path)


@pytest.mark.parametrize("name", sorted(OFFICIAL_TRACKS))
def test_cc_ocr_tracks_equal_the_official_evaluators(cc_table, name):
    rows = metrics.score(name, cc_table)
    value = metrics.get_metric(name).finish(np.array(rows["parts"].to_list()).sum(axis=0)[None, :])[0]
    assert value == pytest.approx(OFFICIAL_TRACKS[name], abs=1e-9)


def test_cc_ocr_summary_gives_each_dataset_its_official_figure(cc_table):
    names = list(OFFICIAL_TRACKS)
    scores = pl.concat([metrics.score(n, cc_table) for n in names], how="diagonal_relaxed")
    summary = metrics.summarize(scores, cc_table.select("sample_id", "doc_class", "question_type"),
                                ["general", "by_doc_class"], n_boot=50)  # fmt: skip
    for name in names:
        groups = summary.filter((pl.col("metric") == name) & (pl.col("aggregator") == "by_doc_class"))
        # a dataset's group is its track's formula over it alone: the summary's 1e-9 term is in it
        assert dict(zip(groups["group"], groups["value"])) == pytest.approx(OFFICIAL_DATASETS[name], abs=2e-9)


def test_cc_ocr_total_is_the_mean_of_the_tracks(cc_table):
    rows = metrics.score("cc_ocr", cc_table)
    value = metrics.get_metric("cc_ocr").finish(np.array(rows["parts"].to_list()).sum(axis=0)[None, :])[0]
    tracks = [
        OFFICIAL_TRACKS[f"cc_ocr_{t}"] for t in ("multi_scene_ocr", "multi_lan_ocr", "doc_parsing", "kie")
    ]
    assert value == pytest.approx(sum(tracks) / 4, abs=1e-12)


@pytest.mark.parametrize(
    "text, expected, why",
    [
        ('```json\n{"a": 1}\n```', {"a": 1}, "a closed fence"),
        ('```json\n{"a": 1}', None, "an unclosed fence: the repair never runs, every field is missed"),
        ("null", None, "JSON null is a failed answer too"),
        ('{"a": [1, 2]}\n', {"a": [1, 2]}, "plain JSON"),
    ],
)
def test_kie_answers_are_parsed_as_the_evaluator_parses_them(text, expected, why):
    assert kie_answer(text) == expected, why


def test_kie_normalisation_keeps_an_empty_value_as_a_field():
    assert normalize_dict({"b": "", "a": [" x ", ""], "c": []}) == {"a": ["x"], "b": [""]}


@pytest.mark.parametrize(
    "pred, gt, track, dataset, expected",
    [
        (
            "Main-St.",
            "main st",
            "multi_scene_ocr",
            "IC15",
            0.0,
        ),  # [A-Za-z0-9] words: "mainst" vs "main", "st"
        ("Main-St.", "main-st.", "multi_lan_ocr", "French", 1 - 1e-9),
        ("北京", "北 京", "multi_scene_ocr", "zh_scene", 1 - 1e-9),  # characters, spaces dropped
    ],
)
def test_ocr_f1_tokens_follow_the_split_name(pred, gt, track, dataset, expected):
    assert ocr_f1(pred, gt, track, dataset) == pytest.approx(expected, abs=1e-8)


def test_ocrbench_v2_reader_gives_the_official_items(tmp_path):
    rows = [{**q, "question": f"{q['question']} [{tag}]"} for tag, q, _ in OCRBENCH_V2]
    samples = {
        s.annotation["question"].rsplit("[", 1)[1][:-1]: s
        for s in read_ocrbench_v2(write_ocrbench_v2(tmp_path, rows))
    }
    assert len(samples) == len(OCRBENCH_V2)
    assert "eval" not in samples["v2-tr1"].annotation  # the uploader's "None"
    assert samples["v2-mc1"].annotation["eval"] == "multiple choice"
    assert samples["v2-chart"].annotation["answers"] == [{"title": "Sales", "2019": "12", "2020": "15"}]
    assert samples["v2-kie1"].annotation["answers"] == ['{"company": ["OLD TOWN"], "total": ["30"]}']
    assert samples["v2-ground"].annotation["answers"] == ["100", "100", "200", "200"]
    spot = samples["v2-spot"].annotation
    assert spot["bbox"][0] == [10, 10, 100, 10, 100, 50, 10, 50] and spot["content"][2] == "###"
    assert samples["v2-pos"].annotation["bbox"] == [10, 10, 110, 60]
    assert samples["v2-tr1"].question_type == "text recognition en"


def test_catalog_lists_both_with_their_published_scale():
    v2, cc = BENCHMARKS.get("ocrbench_v2"), BENCHMARKS.get("cc_ocr")
    assert (v2.hub_repo, v2.headline.metric, v2.headline.scale) == (
        "ling99/OCRBench_v2",
        "ocrbench_v2_en",
        100.0,
    )
    assert (cc.hub_repo, cc.headline.metric, cc.headline.scale) == ("wulipc/CC-OCR", "cc_ocr", 100.0)
    assert metrics.get_metric("ocrbench_v2_cn").scorer_env == "ocrbench_v2"
    assert "multi_lan_ocr/*.parquet" in cc.file_patterns("test")
