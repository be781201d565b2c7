"""Claims by significance: "best" and "fastest" only where the 95 % intervals separate (latency has a
bootstrap interval as quality has), "tied within noise" otherwise; plot axes from the metric's natural
bound, never zoomed into the noise; and the answers whose whitespace padding earned docvqa_anls credit,
flagged."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from metrics import percentile_interval
from tests.support.synthetic_runs import make_config, write_run
from vlmhyperbench.report import plots
from vlmhyperbench.report.claims import Entry, standout


def test_standout_names_a_leader_only_when_the_intervals_separate():
    tied = standout([Entry("a", 6.680, 6.60, 6.75), Entry("b", 6.685, 6.61, 6.77)], higher_is_better=False)
    assert tied.leader is None and [e.name for e in tied.tied] == ["a", "b"]
    assert tied.text("fastest") == "tied within noise: a, b"
    apart = standout([Entry("a", 0.9, 0.85, 0.95), Entry("b", 0.5, 0.4, 0.6)], higher_is_better=True)
    assert apart.leader.name == "a" and apart.text("best") == "best a (0.900)"
    assert standout([Entry("a", 0.9, 0.8, 1.0)], higher_is_better=True).text("best") == "", "alone: no claim"
    no_interval = standout([Entry("a", 1.0), Entry("b", 2.0)], higher_is_better=False)
    assert no_interval.leader is None, "without intervals nothing is claimed"


def test_the_latency_interval_is_the_bootstrap_of_the_median():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 1.0, 41)
    low, high = percentile_interval(x, 50)
    draws = np.median(x[rng.integers(0, x.size, (20_000, x.size))], axis=1)
    assert (low, high) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])), abs=0.05)
    assert low <= np.median(x) <= high
    assert percentile_interval(x, 50) == (low, high), "seeded: the same interval on every run"


def speed_card(html: str) -> str:
    start = html.index('id="summary"')
    return html[start : html.index('id="comparison-card"', start)]


def test_two_models_within_noise_are_tied_and_nobody_is_fastest_or_best(tmp_path):
    config = make_config(tmp_path, n=30)
    run = write_run(
        tmp_path / "results",
        "r1",
        config,
        {"a": {1, 2, 3}, "b": {1, 2, 4}},  # the same quality, answers wrong on different samples
        n=30,
        speeds={"a": 1.0, "b": 1.001},  # 1 ms apart: well inside their latency intervals
    )
    html = (run.root / "report.html").read_text()
    card = speed_card(html)
    assert "tied within noise: a, b" in card and "fastest" not in card and "best" not in card
    perf = pl.read_parquet(run.root / "performance.parquet").sort("model")
    assert (perf["latency_p50_ci_low_s"] < perf["latency_p50_s"]).all()
    assert (perf["latency_p50_ci_high_s"] > perf["latency_p50_s"]).all()
    board = html[html.index('id="leaderboard"') : html.index('id="pareto"')]
    assert 'class="num best"' not in board, "no value is bold where the intervals overlap"
    # the quality/latency plot starts at 0 s and 0: no axis spans only the 1 ms between them
    plot = html[html.index('id="pareto"') : html.index('id="regressions"')]
    ticks = re.findall(r">([0-9.]+)</text>", plot)
    assert "0.0" in ticks and "0.00" not in ticks[:1]


def test_a_model_faster_beyond_the_noise_is_named(tmp_path):
    config = make_config(tmp_path, n=30)
    run = write_run(tmp_path / "results", "r1", config, {"a": set(), "b": set(range(0, 30, 2))}, n=30,
                    speeds={"a": 1.0, "b": 3.0})  # fmt: skip
    card = speed_card((run.root / "report.html").read_text())
    assert re.search(r"best a \(1\.000\)", card) and re.search(r"fastest a \([0-9.]+ s p50\)", card)


def test_a_metric_axis_starts_at_its_natural_bound():
    assert plots.metric_axis([0.0, 0.0, 0.0]) == (0.0, 1.0), "one model at CER 0: not -0.06..0.06"
    assert plots.metric_axis([0.680, 0.6805, 0.67, 0.69]) == pytest.approx((0.0, 0.759))
    assert plots.metric_axis([-0.2, 0.5]) == pytest.approx((-1.0, 0.55)), "Kendall's tau goes negative"


def test_answers_padded_with_whitespace_are_flagged(tmp_path):
    from vlmhyperbench.report import write_report
    from vlmhyperbench.results import PairKey
    from vlmhyperbench.scoring import score_pair_file

    config = make_config(tmp_path, n=12)
    run = write_run(tmp_path / "results", "r1", config, {"pad": set()}, n=12, report=False,
                    overrides={"pad": {3: "x" + " " * 200}})  # fmt: skip
    key = {"model": "pad", "dataset": "docs-vqa", "perturbation": ""}
    scores, summary = score_pair_file(
        run.predictions(PairKey(model="pad", dataset="docs-vqa")), key, ["docvqa_anls"], ["general"]
    )
    write_report(run, run.read_manifest(), [scores], [summary], [], print_table=False)
    html = (run.root / "report.html").read_text()
    assert "docvqa_anls: 1 answer scored higher for whitespace padding" in html
    section = html[html.index('id="padding"') : html.index('id="pareto"')]
    assert "s003" in section and ">201<" in section and ">200<" in section  # length, and its padding
    assert "answers whose whitespace padding changed their score" in (run.root / "leaderboard.md").read_text()
