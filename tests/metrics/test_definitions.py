"""Each metric definition (docs/reference/metrics.md) on hand-made cases, and the registry."""

from __future__ import annotations

import json

import polars as pl
import pytest
import sacrebleu

from metrics import MetricError, UnknownNameError, get_metric, metric_names, score
from metrics._classification import map_to_class
from metrics._kie import first_json_object
from metrics._ordering import first_int_list


def table(preds, refs=None, **columns) -> pl.DataFrame:
    n = len(preds)
    refs = refs if refs is not None else [[] for _ in range(n)]
    return pl.DataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "prediction": preds, "references": refs, **columns},
        schema_overrides={"references": pl.List(pl.String)},
    )


def values(metric, t) -> list[float]:
    return score(metric, t).get_column("value").to_list()


def test_registry_knows_every_metric_and_names_the_unknown():
    assert set(metric_names()) >= {
        "anls",
        "cer",
        "wer",
        "exact_match",
        "relaxed_accuracy",
        "accuracy",
        "f1_macro",
        "field_f1",
        "field_cer",
        "kendall_tau",
        "bleu",
    }
    with pytest.raises(UnknownNameError, match=r"unknown metric 'wre'; did you mean 'wer'\?.*known: accu"):
        get_metric("wre")
    assert get_metric("cer").higher_is_better is False and get_metric("cer").aggregation == "ratio"
    assert get_metric("anls").higher_is_better is True and get_metric("anls").aggregation == "mean"


def test_missing_column_is_named():
    with pytest.raises(MetricError, match="needs the column.*references"):
        score("cer", pl.DataFrame({"sample_id": ["a"], "prediction": ["x"]}))


def test_exact_match_normalises_as_for_anls():
    t = table(["  Hello\tWORLD ", "hello", "", "Ёж"], [["hello world"], ["x", "Hello"], [""], ["ёж "]])
    assert values("exact_match", t) == [1.0, 1.0, 1.0, 1.0]
    assert values("exact_match", table(["hello!"], [["hello"]])) == [0.0]


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("12.5", "12.9", 1.0),  # 3.1 % off
        ("100", "106", 0.0),  # 5.7 % off
        ("105", "100", 1.0),  # exactly 5 %
        ("50%", "0.5", 1.0),  # a percentage is a fraction
        ("0", "0", 1.0),  # a zero reference falls back to exact match
        ("0.01", "0", 0.0),
        (" Paris ", "paris", 1.0),
        ("Paris", "Lyon", 0.0),
        ("nan", "nan", 1.0),  # not a finite number: compared as text
    ],
)
def test_relaxed_accuracy_chartqa(pred, ref, expected):
    assert values("relaxed_accuracy", table([pred], [[ref]])) == [expected]


def test_bleu_is_sacrebleu_sentence_bleu_as_a_fraction():
    preds = ["the cat sat on the mat", "a b c", ""]
    refs = [["the cat is on the mat", "a cat sat on the mat"], ["a b c d"], ["x"]]
    got = values("bleu", table(preds, refs))
    assert got == [sacrebleu.sentence_bleu(p, r).score / 100 for p, r in zip(preds, refs)]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Passport", "passport"),
        ("This is a passport.", "passport"),
        ("passport or invoice", None),  # two classes named: no class
        ("passports", None),  # not as a whole word
        ("proforma invoice", "proforma invoice"),  # equality wins over the word matches
        ("a proforma invoice", None),  # both 'invoice' and 'proforma invoice' occur
        ("ПАСПОРТ РФ", "паспорт рф"),
        ("", None),
    ],
)
def test_class_mapping(answer, expected):
    assert map_to_class(answer, ["passport", "invoice", "proforma invoice", "паспорт рф"]) == expected


def test_accuracy_and_macro_f1():
    classes = [["cat", "dog", "bird"]] * 5
    t = table(
        ["Cat", "dog", "a dog", "no idea", "bird"],
        label=["cat", "dog", "cat", "bird", "bird"],
        classes=classes,
    )
    rows = score("f1_macro", t)
    assert rows.get_column("value").to_list() == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert rows.get_column("pred_class").to_list() == ["cat", "dog", "dog", None, "bird"]
    # cat: TP1 FN1 -> 2/3; dog: TP1 FP1 -> 2/3; bird: TP1 FN1 -> 2/3
    from metrics import summarize

    summary = summarize(rows, pl.DataFrame({"sample_id": t["sample_id"]}), ["general"])
    assert summary.get_column("value").item() == pytest.approx(2 / 3)


def test_macro_f1_counts_a_class_never_seen_as_zero():
    t = table(["cat", "cat"], label=["cat", "cat"], classes=[["cat", "dog"]] * 2)
    from metrics import summarize

    summary = summarize(score("f1_macro", t), pl.DataFrame({"sample_id": ["s0", "s1"]}), ["general"])
    assert summary.get_column("value").item() == 0.5  # sklearn f1_score(..., labels=classes, average="macro")


def test_first_json_object():
    assert first_json_object('Sure!\n```json\n{"a": 1}\n```') == {"a": 1}
    assert first_json_object('{bad} then {"b": "x"}') == {"b": "x"}
    assert first_json_object("[1, 2]") is None and first_json_object("") is None


def test_field_f1_per_contract():
    fields = [{"name": "Иван", "date": "2020-01-01", "empty": ""}, {"name": "Petr"}, {}, {}, {"a": "1"}]
    preds = [
        '```json\n{"name": "  иван ", "date": "2021-01-01", "extra": "x"}\n```',  # P 1/3 R 1/2
        "no object here",
        "{}",
        '{"x": "y"}',
        '{"a": 1}',
    ]
    rows = score("field_f1", table(preds, fields=[json.dumps(f, ensure_ascii=False) for f in fields]))
    per_sample = rows.filter(pl.col("field").is_null()).get_column("value").to_list()
    assert per_sample == pytest.approx([2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2), 0.0, 1.0, 0.0, 1.0])
    per_field = rows.filter(pl.col("field").is_not_null()).select("sample_id", "field", "value").rows()
    assert per_field == [("s0", "name", 1.0), ("s0", "date", 0.0), ("s1", "name", 0.0), ("s4", "a", 1.0)]


def test_field_cer_pools_fields():
    rows = score(
        "field_cer",
        table(['{"a": "abcd", "b": "xy"}'], fields=[json.dumps({"a": "abce", "b": "xyz", "c": ""})]),
    )
    own = rows.filter(pl.col("field").is_null())
    assert own.get_column("value").item() == 2 / 7
    assert rows.filter(pl.col("field") == "a").get_column("value").item() == 0.25


@pytest.mark.parametrize(
    ("answer", "order", "expected"),
    [
        ("[2, 0, 1]", [2, 0, 1], 1.0),
        ("The order is 1, 0, 2.", [0, 1, 2], 1 / 3),
        ("[2, 1, 0]", [0, 1, 2], -1.0),
        ("[0, 1]", [0, 1, 2], -1.0),  # not a permutation
        ("[0, 0, 1]", [0, 1, 2], -1.0),
        ("no list", [0, 1], -1.0),
        ("[3]", [3], 1.0),
        ("[1, 3, 2, 0]", [3, 0, 2, 1], None),
    ],
)
def test_kendall_tau(answer, order, expected):
    value = values("kendall_tau", table([answer], order=[order]))[0]
    if expected is None:  # scipy.stats.kendalltau([1, 3, 2, 0], [3, 0, 2, 1]) = -1/3
        expected = -1 / 3
    assert value == pytest.approx(expected)


def test_first_int_list():
    assert first_int_list("pages: [3,1,2]") == [3, 1, 2]
    assert first_int_list("3 -> 1 -> 2") == [3, 1, 2]
    assert first_int_list("nothing") is None
