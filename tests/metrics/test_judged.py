"""Judged metrics as functions over the verdict columns, the reasoning rule, and judge agreement: each value
against one computed by hand from the definitions in metrics/README.md."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metrics
from metrics import (
    METRICS,
    MetricError,
    UnknownNameError,
    agreement,
    judged_metric,
    parse_reasoning,
    strip_reasoning,
    strip_reasoning_expr,
)


def table(**columns) -> pl.DataFrame:
    return pl.DataFrame(
        columns,
        schema_overrides={"judge_grade": pl.Float64, "judge_extraction": pl.String},
    )


SAMPLES = table(
    sample_id=["a", "b", "c", "d", "e"],
    prediction=["Acme", "March 5, 2024", "acme inc", "blue", "7"],
    references=[["Acme"], ["05.03.2024"], ["Acme Inc."], ["red"], ["7"]],
    judge_grade=[1.0, 1.0, None, 0.0, 0.0],
    judge_extraction=["Acme", "05.03.2024", None, "blue", "7"],
)


def values(name: str, t: pl.DataFrame = SAMPLES) -> dict[str, float]:
    rows = metrics.score(name, t)
    return dict(zip(rows["sample_id"], rows["value"]))


def test_judge_correct_is_the_verdict_and_leaves_out_samples_without_one():
    assert values("judge_correct") == {"a": 1.0, "b": 1.0, "d": 0.0, "e": 0.0}


def test_rules_first_the_judge_only_where_the_rule_misses():
    # anls: a 1, b 0 (NL above 0.5), c 1 - 1/9 ('acme inc' vs 'acme inc.' once lower-cased),
    # d 0, e 1. Full marks pass: a, e. Misses: b (judge C -> 1), c (no verdict: left out), d (I -> 0).
    assert values("anls|judge") == {"a": 1.0, "b": 1.0, "d": 0.0, "e": 1.0}
    # threshold 0.5: c passes by the rule (0.889 >= 0.5) without any verdict
    assert values("anls|judge:0.5") == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0, "e": 1.0}
    # the rule alone decides where it passes, whatever a verdict there says: e's I is never read
    assert values("exact_match|judge")["e"] == 1.0


def test_lower_is_better_rules_pass_at_or_below_their_threshold():
    # cer (case-sensitive): a 0, b > 0.2, c 3/9 ('a'->'A', 'i'->'I', '.' added), d > 0.2, e 0
    assert values("cer")["c"] == pytest.approx(3 / 9)
    assert values("cer|judge") == {"a": 1.0, "b": 1.0, "d": 0.0, "e": 1.0}
    assert values("cer|judge:0.2") == {"a": 1.0, "b": 1.0, "d": 0.0, "e": 1.0}  # c: 0.33 > 0.2, no verdict
    assert values("cer|judge:0.4") == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0, "e": 1.0}


def test_judge_extract_scores_the_extraction_with_the_rule_metric():
    assert values("judge_extract:anls") == {"a": 1.0, "b": 1.0, "d": 0.0, "e": 1.0}
    spec = METRICS.get("judge_extract:cer")
    assert spec.aggregation == "ratio" and spec.higher_is_better is False
    rows = metrics.score("judge_extract:cer", SAMPLES)
    assert rows.columns == ["sample_id", "metric", "value", "num", "den"]  # pooled as cer is


def test_judged_names_are_built_by_the_registry_and_summarised_like_any_metric():
    spec = METRICS.get("anls|judge:0.8")
    assert spec.higher_is_better and spec.aggregation == "mean"
    assert "exact_match|judge" in METRICS and "nope|judge" not in METRICS
    scores = metrics.score("anls|judge", SAMPLES).with_columns(
        pl.lit("m").alias("model"), pl.lit("d").alias("dataset")
    )
    samples = SAMPLES.select("sample_id").with_columns(
        pl.lit("m").alias("model"), pl.lit("d").alias("dataset")
    )
    summary = metrics.summarize(scores, samples, ["general"], n_boot=0)
    assert summary["value"][0] == pytest.approx(3 / 4) and summary["n"][0] == 4


@pytest.mark.parametrize(
    ("name", "error", "says"),
    [
        ("anlz|judge", UnknownNameError, "did you mean 'anls'"),
        ("judge_extract:", MetricError, "names no rule metric"),
        ("anls|judge:high", MetricError, "is not a number"),
        ("anls|judge:nan", MetricError, "finite"),
        ("anls|judg", MetricError, "write METRIC|judge"),
        ("judge_extract:judge_correct", MetricError, "cannot itself be a judged metric"),
    ],
)
def test_a_wrong_judged_name_says_what_is_wrong(name, error, says):
    with pytest.raises(error, match=says.replace("|", r"\|")):
        judged_metric(name)


def test_judged_metric_reads_its_parts():
    assert judged_metric("anls") is None
    assert judged_metric("judge_correct").asks == "grade"
    j = judged_metric("judge_extract:anls")
    assert (j.mode, j.base, j.asks) == ("extract", "anls", "extract")
    j = judged_metric("cer|judge:0.1")
    assert (j.mode, j.base, j.threshold, j.asks) == ("recall", "cer", 0.1, "grade")


# ---------------------------------------------------------------- reasoning


@pytest.mark.parametrize(
    ("raw", "answer"),
    [
        ("plain answer", "plain answer"),
        ("  spaced  ", "  spaced  "),  # nothing removed: not even stripped
        ("<think>a, b...</think>\n\nMarch 5", "March 5"),
        ("<THINK>x</THINK>one<think>y</think> two", "one two"),
        ("reasoning the template opened</think> 42", "42"),
        ("42 <think> cut off while thinking", "42"),
        ("◁think▷hmm◁/think▷ 7", "7"),
        ("<reasoning>r</reasoning>ok", "ok"),
        ("<thinking>\nmulti\nline\n</thinking>\nfinal", "final"),
        ("a <b>bold</b> tag stays", "a <b>bold</b> tag stays"),
    ],
)
def test_reasoning_blocks_are_removed_by_rule(raw, answer):
    assert strip_reasoning(raw) == answer
    assert pl.select(strip_reasoning_expr(pl.lit(raw))).item() == answer


def test_the_reasoning_rule_is_configurable():
    assert parse_reasoning(None) == parse_reasoning("strip") == metrics.REASONING_TAGS
    assert parse_reasoning("keep") == ()
    assert strip_reasoning("<think>x</think>y", parse_reasoning("keep")) == "<think>x</think>y"
    tags = parse_reasoning("strip:scratch")
    assert strip_reasoning("<scratch>x</scratch>y <think>z</think>", tags) == "y <think>z</think>"
    for bad in ("drop", "strip:", "strip:<x>"):
        with pytest.raises(ValueError):
            parse_reasoning(bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<think>", "</think>", "◁think▷", "◁/think▷", "a", " ", "\n", "Ж", "<x>"])))
def test_the_vectorised_rule_equals_the_python_one(parts):
    text = "".join(parts)
    assert pl.select(strip_reasoning_expr(pl.lit(text))).item() == strip_reasoning(text)


# ---------------------------------------------------------------- agreement


def test_agreement_and_cohens_kappa_by_hand():
    # judge C C C I I I I I I I, rule C C I C I I I I I I: a=2 (both C), b=1, c=1, d=6 (both I)
    judge = [True] * 3 + [False] * 7
    rule = [True, True, False, True] + [False] * 6
    a = agreement(judge, rule)
    assert (a.n, a.both_correct, a.both_incorrect, a.only_a_correct, a.only_b_correct) == (10, 2, 6, 1, 1)
    # p_o = 8/10; p_e = 0.3*0.3 + 0.7*0.7 = 0.58; kappa = (0.8 - 0.58) / 0.42 = 11/21
    assert a.agree == pytest.approx(0.8) and a.kappa == pytest.approx(11 / 21)
    assert agreement([True, True, False, False], [True, False, False, False]).kappa == pytest.approx(0.5)


def test_kappa_is_exact_at_chance_and_undefined_without_variation():
    # p_o = 1/3 = p_e (rule all I, judge one I of three): exactly 0, not -1e-17
    assert agreement([True, True, False], [False, False, False]).kappa == 0.0
    a = agreement([True, True], [True, True])
    assert a.agree == 1.0 and a.kappa is None
    assert agreement([], []).kappa is None and agreement([], []).agree is None
    assert agreement([True, False], [False, True]).kappa == -1.0
