"""summarize() and paired_difference(): columns, pooling, seeded bootstrap intervals."""

from __future__ import annotations

import random

import jiwer
import numpy as np
import polars as pl
import pytest
import sacrebleu

from metrics import MetricError, UnknownNameError, paired_difference, score, summarize
from metrics._text import corpus_bleu, corpus_bleu_many

CONTRACT_COLUMNS = [
    "model",
    "dataset",
    "metric",
    "aggregator",
    "group",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "higher_is_better",
]


def _ocr(model: str, seed: int, n: int = 60):
    r = random.Random(seed)
    refs = [
        " ".join(r.choice(["счёт", "итого", "ООО", "total", "12,50"]) for _ in range(r.randint(1, 5)))
        for _ in range(n)
    ]
    preds = [x if r.random() < 0.5 else x[: r.randint(0, len(x))] + r.choice(["", "x", " да"]) for x in refs]
    table = pl.DataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "prediction": preds, "references": [[x] for x in refs]}
    )
    scores = pl.concat([score(m, table) for m in ("cer", "wer", "anls", "bleu")], how="diagonal")
    return scores.with_columns(model=pl.lit(model), dataset=pl.lit("receipts")), preds, refs


def _samples(n: int = 60) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": ["m"] * n,
            "dataset": ["receipts"] * n,
            "sample_id": [f"s{i}" for i in range(n)],
            "doc_class": [["receipt", "invoice"][i % 2] for i in range(n)],
            "question_type": [["total", "date", "inn"][i % 3] for i in range(n)],
        }
    )


ALL = ["general", "by_doc_class", "by_question_type", "by_doc_question"]


def test_summary_columns_groups_and_pooled_values():
    scores, preds, refs = _ocr("m", seed=1)
    out = summarize(scores, _samples(), ALL)
    assert out.columns == CONTRACT_COLUMNS
    assert out.schema["n"] == pl.Int64 and out.schema["higher_is_better"] == pl.Boolean
    general = {r["metric"]: r for r in out.filter(pl.col("aggregator") == "general").iter_rows(named=True)}
    assert general["cer"]["value"] == jiwer.cer(refs, preds)  # corpus level, as jiwer over lists
    assert general["wer"]["value"] == jiwer.wer(refs, preds)
    assert general["bleu"]["value"] == sacrebleu.corpus_bleu(preds, [refs]).score / 100
    assert general["anls"]["group"] == "" and general["anls"]["n"] == 60
    assert general["cer"]["higher_is_better"] is False
    groups = set(out.filter(pl.col("aggregator") == "by_doc_question").get_column("group"))
    assert groups == {f"{d}/{q}" for d in ("receipt", "invoice") for q in ("total", "date", "inn")}
    by_class = out.filter(pl.col("aggregator") == "by_doc_class")
    assert set(by_class.get_column("group")) == {"receipt", "invoice"}


def test_samples_without_a_label_make_no_unnamed_group():
    scores, _, _ = _ocr("m", seed=5)
    samples = _samples().with_columns(
        doc_class=pl.when(pl.col("sample_id").is_in(["s0", "s1", "s2"]))
        .then(pl.lit(""))
        .otherwise("doc_class"),
        question_type=pl.lit(None, pl.String),  # a dataset without question types
    )
    out = summarize(scores, samples.filter(pl.col("sample_id") != "s4"), ALL)
    groups = {a: set(out.filter(pl.col("aggregator") == a)["group"]) for a in ALL}
    assert groups == {
        "general": {""},
        "by_doc_class": {"receipt", "invoice"},
        "by_question_type": set(),
        "by_doc_question": {"receipt/", "invoice/"},
    }
    by_class = out.filter((pl.col("aggregator") == "by_doc_class") & (pl.col("metric") == "anls"))
    assert by_class["n"].sum() == 60 - 4, "s0-s2 have no class and s4 is not among the samples"
    assert out.filter((pl.col("aggregator") == "general") & (pl.col("metric") == "anls"))["n"].item() == 60


def test_bootstrap_is_seeded_and_holds_the_value():
    scores, _, _ = _ocr("m", seed=2)
    a = summarize(scores, _samples(), ALL, seed=3, n_boot=400)
    assert a.equals(summarize(scores, _samples(), ALL, seed=3, n_boot=400))
    assert not a.equals(summarize(scores, _samples(), ALL, seed=4, n_boot=400))
    assert (a["ci_low"] <= a["value"]).all() and (a["value"] <= a["ci_high"]).all()
    general = a.filter(pl.col("aggregator") == "general")
    assert (general["ci_high"] - general["ci_low"] > 0).all()
    # a group's interval depends on its own rows only, not on which other groups are summarised
    alone = summarize(scores, _samples(), ["by_doc_class"], seed=3, n_boot=400)
    assert alone.equals(a.filter(pl.col("aggregator") == "by_doc_class"))


def test_no_bootstrap_gives_null_intervals():
    scores, _, _ = _ocr("m", seed=2)
    out = summarize(scores, _samples(), ["general"], n_boot=0)
    assert out["ci_low"].null_count() == out.height


def test_extra_keys_are_carried_through():
    clean, _, _ = _ocr("m", seed=5)
    noisy, _, _ = _ocr("m", seed=6)
    scores = pl.concat(
        [clean.with_columns(perturbation=pl.lit("none")), noisy.with_columns(perturbation=pl.lit("blur"))]
    )
    samples = pl.concat([_samples().with_columns(perturbation=pl.lit(p)) for p in ("none", "blur")])
    out = summarize(scores, samples, ["general", "by_doc_class"])
    assert out.columns[:3] == ["model", "dataset", "perturbation"]
    assert set(out.get_column("perturbation")) == {"none", "blur"}
    assert out.filter(pl.col("aggregator") == "by_doc_class")["n"].to_list() == [30] * 16


def test_by_field_and_unknown_aggregator():
    table = pl.DataFrame(
        {
            "sample_id": ["a", "b"],
            "prediction": ['{"n": "x", "d": "1"}', '{"n": "y"}'],
            "references": [[], []],
            "fields": ['{"n": "x", "d": "2"}', '{"n": "y"}'],
        }
    )
    scores = pl.concat([score("field_f1", table), score("field_cer", table)], how="diagonal")
    out = summarize(scores, pl.DataFrame({"sample_id": ["a", "b"]}), ["general", "by_field"])
    by_field = {
        (r["metric"], r["group"]): (r["value"], r["n"])
        for r in out.filter(pl.col("aggregator") == "by_field").iter_rows(named=True)
    }
    assert by_field[("field_f1", "n")] == (1.0, 2) and by_field[("field_f1", "d")] == (0.0, 1)
    assert by_field[("field_cer", "d")] == (1.0, 1)
    with pytest.raises(UnknownNameError, match="unknown aggregator 'by_page'"):
        summarize(scores, pl.DataFrame({"sample_id": ["a"]}), ["by_page"])


def test_corpus_bleu_vectorised_equals_sacrebleu():
    rng = np.random.default_rng(0)
    for _ in range(300):
        total = rng.integers(0, 30, size=4)
        stats = np.concatenate([rng.integers(0, 40, 2), np.minimum(rng.integers(0, 30, 4), total), total])
        vectorised = corpus_bleu_many(stats[None, :].astype(float))[0]
        assert vectorised == pytest.approx(corpus_bleu(stats), abs=1e-12)


def test_paired_difference():
    a, _, _ = _ocr("a", seed=8)
    b, _, _ = _ocr("b", seed=9)
    d = paired_difference(a, b.filter(pl.col("sample_id") != "s0"), "anls", seed=1, n_boot=500)
    assert d.n == 59

    def mean(s):
        return s.filter((pl.col("metric") == "anls") & (pl.col("sample_id") != "s0"))["value"].mean()

    assert d.value == pytest.approx(mean(a) - mean(b))
    assert d.ci_low <= d.value <= d.ci_high
    assert d == paired_difference(a, b.filter(pl.col("sample_id") != "s0"), "anls", seed=1, n_boot=500)
    same = paired_difference(a, a, "cer")
    assert (same.value, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0)
    with pytest.raises(MetricError, match="no sample"):
        paired_difference(a, b.with_columns(sample_id=pl.lit("zz")), "anls")
