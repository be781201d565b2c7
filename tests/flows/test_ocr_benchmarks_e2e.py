# ruff: noqa: E501  (figures recorded from the official code, one per line)
"""OCRBench v2 and CC-OCR end to end through the command line, in one run: both from their hub layouts
(CC-OCR through an offline bundle tarball), answered by a synthetic server with the scripted answers of
tests/scorers/ocr_cases.py, OCRBench v2 scored in its scorer environment (nltk, METEOR on WordNet 3.0, jieba,
zss) and CC-OCR in process. Every per-question score and every summary figure equals what the official code
(MultimodalOCR eval.py + get_score.py, CC-OCR's evaluators) computed on the same answers."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.scorers.ocr_cases import CC_OCR, OCRBENCH_V2
from tests.support.fault_servers import FaultServer, cli_env, run_cli
from vlmhyperbench.benchmarks import BENCHMARKS, export_bundle, resolve_source
from vlmhyperbench.benchmarks._starter import write_cc_ocr, write_ocrbench_v2

pytestmark = pytest.mark.slow

# eval.py's score of each question on these answers (None: eval.py marks it `ignore`)
OFFICIAL_V2 = {
    "v2-tr1": 1, "v2-tr2": 0.96, "v2-tr3": 0, "v2-mc1": 1, "v2-mc2": 0, "v2-cs1": 0, "v2-cnt1": 0.8,
    "v2-cnt2": 1, "v2-cnt3": 0, "v2-kie1": 0.3333333333333333, "v2-kie2": 1.0, "v2-kiecn": 1.0,
    "v2-tabh": 0.8333333333333334, "v2-tabm": 0.9259259259259259, "v2-tabcn": 0, "v2-chart": 0.962962962962963,
    "v2-doc": 0.6666666666666667, "v2-doccn": 0.75, "v2-f": 1, "v2-fcn": 1, "v2-ground": 0.3333333333333333,
    "v2-pos": 0.75, "v2-spot": 0.8, "v2-full": 0.5212066069428891, "v2-fine": 0.5449712643678161,
    "v2-fullcn": 0.4470521541950113, "v2-hw1": 1, "v2-hw2": 0.47263824884792627, "v2-tr-cn": 0.5915277777777778,
    "v2-ignore": None, "v2-cnvqa": 1, "v2-cnmc": 1,
}  # fmt: skip
# get_score.py's English and Chinese overall on them (English has no visual_text_understanding question)
OFFICIAL_EN, OFFICIAL_CN = 0.6320971455295121, 0.7300724252066418
OFFICIAL_CC = {  # CC-OCR's summary per track
    "cc_ocr_multi_scene_ocr": 0.5694444431586612,
    "cc_ocr_multi_lan_ocr": 0.7428571412112923,
    "cc_ocr_doc_parsing": 0.967272727030909,
    "cc_ocr_kie": 0.36666657092780436,
    "cc_ocr_kie_acc": 0.3624998185688407,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    tmp = tmp_path_factory.mktemp("ocr-benchmarks")
    v2 = write_ocrbench_v2(
        tmp / "OCRBench_v2",
        [{**q, "id": i, "question": f"{q['question']} [{tag}]"} for i, (tag, q, _) in enumerate(OCRBENCH_V2)],
    )
    cc = write_cc_ocr(
        tmp / "CC-OCR", [{**r, "question": f"Read [{t}]", "image_name": f"{t}.jpg"} for t, r, _ in CC_OCR]
    )
    bench = BENCHMARKS.get("cc_ocr")
    export_bundle(bench, resolve_source(str(cc), benchmark=bench), tmp / "cc_ocr.tar.gz")
    answers = tmp / "answers.json"
    answers.write_text(json.dumps({f"[{tag}]": reply for tag, _, reply in OCRBENCH_V2 + CC_OCR}))
    server = FaultServer("--answers", str(answers), "--ttft-ms", "5", "--itl-ms", "0")
    config = tmp / "config"
    config.mkdir()
    (config / "models.csv").write_text(
        f"name;backend;model;base_url;env;concurrency;max_tokens\napi;openai;synthetic;{server.base_url};none;4;256\n"
    )
    (config / "datasets.csv").write_text(
        f"name;benchmark;path;split\nocrbench_v2;ocrbench_v2;{v2};test\ncc_ocr;cc_ocr;{tmp / 'cc_ocr.tar.gz'};\n"
    )
    env = cli_env(
        tmp, PREFECT_API_URL=PREFECT_API_URL.value()
    )  # the shared cache: its scorer env is built once
    try:
        code, output = run_cli(
            "--config", str(config), "--output", str(tmp / "results"), "--run-id", "ocr",
            env=env, log=tmp / "run.log", timeout=900,
        )  # fmt: skip
    finally:
        server.stop()
    assert code == 0, output[-4000:]
    return tmp / "results" / "ocr"


def _tag(sample_id: str, question: str) -> str:
    return question.rsplit("[", 1)[1].rstrip("]")


def test_ocrbench_v2_scores_each_question_as_eval_py(run):
    scores = pl.read_parquet(run / "scores.parquet").filter(pl.col("dataset") == "ocrbench_v2")
    preds = pl.read_parquet(next(run.glob("predictions/api/ocrbench_v2*.parquet")))
    tags = {sid: _tag(sid, q) for sid, q in zip(preds["sample_id"], preds["question"])}
    got = {tags[sid]: v for sid, v in zip(scores["sample_id"], scores["value"])}
    expected = {t: v for t, v in OFFICIAL_V2.items() if v is not None}
    assert got == pytest.approx(expected, abs=1e-9)
    assert "detail" not in scores.columns or scores["detail"].null_count() == scores.height  # nothing raised


def test_summaries_equal_the_official_figures(run):
    summary = pl.read_parquet(run / "summary.parquet").filter(pl.col("aggregator") == "general")
    value = dict(zip(summary["metric"], summary["value"]))
    assert value["ocrbench_v2_en"] == pytest.approx(OFFICIAL_EN, abs=1e-9)
    assert value["ocrbench_v2_cn"] == pytest.approx(OFFICIAL_CN, abs=1e-9)
    for name, figure in OFFICIAL_CC.items():
        assert value[name] == pytest.approx(figure, abs=1e-9), name
    tracks = [OFFICIAL_CC[f"cc_ocr_{t}"] for t in ("multi_scene_ocr", "multi_lan_ocr", "doc_parsing", "kie")]
    assert value["cc_ocr"] == pytest.approx(sum(tracks) / 4, abs=1e-9)
    full = pl.read_parquet(run / "summary.parquet")
    cats = full.filter((pl.col("metric") == "ocrbench_v2_en") & (pl.col("aggregator") == "by_category"))
    assert set(cats["group"]) == {
        "text_recognition", "text_detection", "text_spotting", "relationship_extraction", "element_parsing",
        "mathematical_calculation", "knowledge_reasoning",
    }  # fmt: skip
