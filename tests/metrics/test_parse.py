"""The parse task's metrics against values derived from the definitions' official code: PubTabNet's TEDS
(src/metric.py), CC-OCR's OCR evaluator, OmniDocBench's edit distances; and the two new aggregations.

The TEDS values are also checked against the omnidocbench package's own TEDS class in its environment
(tests/scorers/test_scorers.py); here they follow from PubTabNet's definition by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import metrics
from metrics._parse import cc_ocr_f1, cc_ocr_tokens, split_tables
from metrics._teds import normalize_table, teds, teds_of
from vlmhyperbench.scorers import SCORERS  # noqa: F401  (registers the scorers' metrics)


def table(pred: list[str], refs: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(pred))],
            "prediction": pred,
            "references": [[r] for r in refs],
        }
    )


def values(metric: str, pred: list[str], refs: list[str]) -> dict[str, float]:
    rows = metrics.score(metric, table(pred, refs))
    return dict(zip(rows["sample_id"], rows["value"]))


HTML = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"


def test_teds_follows_pubtabnet():
    wrap = "<html><body>{}</body></html>".format
    assert teds_of(wrap(HTML), wrap(HTML)) == 1.0
    # one cell's content differs by one character of one: rename cost 1 (of the td's tokens [c]),
    # over max(nodes below table) = 2 tr + 4 td = 6
    other = HTML.replace("<td>2</td>", "<td>3</td>")
    assert teds_of(wrap(other), wrap(HTML)) == pytest.approx(1 - 1 / 6)
    assert teds_of(wrap(other), wrap(HTML), structure_only=True) == 1.0
    # a missing row: delete tr + 2 td = 3 of 6
    one_row = "<table><tr><td>a</td><td>b</td></tr></table>"
    assert teds_of(wrap(one_row), wrap(HTML)) == pytest.approx(0.5)
    # colspan differs: rename costs 1; plus a deleted td
    span = "<table><tr><td colspan='2'>a b</td></tr><tr><td>1</td><td>2</td></tr></table>"
    assert teds_of(wrap(span), wrap(HTML), structure_only=True) == pytest.approx(1 - 2 / 6)
    assert teds_of("", wrap(HTML)) == 0.0 and teds_of(wrap("<p>no table</p>"), wrap(HTML)) == 0.0


def test_normalisation_makes_markdown_and_html_tables_equal():
    md = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    tables, rest = split_tables("Before\n\n" + md + "\nAfter")
    assert len(tables) == 1 and "Before" in rest and "After" in rest and "|" not in rest
    assert teds(tables[0], HTML) == 1.0  # th -> td, thead/tbody unwrapped
    assert normalize_table('<TABLE class="x"><tr><th style="y"> a\n b </th></tr></TABLE>') == (
        "<html><body><table><tr><td>a b</td></tr></table></body></html>"
    )


def test_teds_metrics_pool_over_reference_tables():
    second = "<table><tr><td>x</td></tr></table>"
    pred = [f"{HTML}\ntext\n{second}", HTML, "no tables at all", f"{second}\n\n{HTML}"]
    refs = [f"{HTML}\n\n{second}", f"{HTML}\n{second}", HTML, "plain text only"]
    rows = metrics.score("teds", table(pred, refs))
    got = {r["sample_id"]: (r["value"], r["num"], r["den"]) for r in rows.iter_rows(named=True)}
    assert got["s0"] == (1.0, 2.0, 2.0)
    assert got["s1"] == (0.5, 1.0, 2.0)  # the reference's second table was not predicted
    assert got["s2"] == (0.0, 0.0, 1.0)
    assert "s3" not in got  # no reference table: not a row
    summary = metrics.summarize(rows.with_columns(pl.lit("m").alias("model")), pl.DataFrame(), ["general"])
    assert summary["value"][0] == pytest.approx(3 / 5)


def test_parse_edit_is_the_normalised_page_edit_distance():
    got = values(
        "parse_edit", ["# Title\n\nbody  text", "", "abcd", ""], ["# Title\nbody text", "x", "abXY", ""]
    )
    assert got == {"s0": 0.0, "s1": 1.0, "s2": 0.5, "s3": 0.0}


@pytest.mark.parametrize(
    ("pred", "ref", "word", "char"),
    [
        ("The cat sat", "the cat sat", 1.0, 1.0),
        ("a b d", "a b c", 2 / 3, 2 / 3),
        ("", "a b", 0.0, 0.0),
        ("", "", 0.0, 0.0),
        ("x y", "y x x", 0.8, 0.8),
    ],
)
def test_token_f1_is_cc_ocrs(pred, ref, word, char):
    # CC-OCR: recall = right / (gt + 1e-9), precision = right / (pred + 1e-9), f1 = 2rp / (r + p + 1e-9)
    def cc(p, r):
        right = sum(min(r.count(t), p.count(t)) for t in set(r))
        rec, prec = right / (len(r) + 1e-9), right / (len(p) + 1e-9)
        return 2 * rec * prec / (rec + prec + 1e-9)

    assert cc_ocr_f1(cc_ocr_tokens(pred), cc_ocr_tokens(ref)) == pytest.approx(word, abs=1e-6)
    assert values("token_f1", [pred], [ref])["s0"] == pytest.approx(
        cc(pred.lower().split(), ref.lower().split())
    )
    chars = values("char_f1", [pred], [ref])["s0"]
    assert chars == pytest.approx(cc(list(pred.lower().replace(" ", "")), list(ref.lower().replace(" ", ""))))
    assert chars == pytest.approx(char, abs=1e-6)
    assert cc_ocr_tokens("A\tb\n\nc###  d***") == ["a", "b", "c", "d"]


def test_reading_order_counts_blocks_out_of_place():
    ref = "# Title\n\nFirst paragraph here\n\nSecond paragraph there\n\nThird one follows"
    swapped = "Title\nSecond paragraph there\nFirst paragraph here\nThird one follows"
    got = values("reading_order", [ref, swapped, "", "Title only"], [ref, ref, ref, "one block"])
    assert got["s0"] == 1.0
    assert got["s1"] == pytest.approx(1 - 2 / 4)  # a swap is two edits of the 4-block order
    assert got["s2"] == 0.0
    assert "s3" not in got  # a single block has no order


def test_category_mean_is_olmocr_benchs_figure_and_resamples_with_the_rows():
    scores = pl.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "sample_id": ["p1", "p1", "p2", "p2", "p3"],
            "metric": "olmocr_bench",
            "value": [1.0, 0.5, 0.0, 1.0, 1.0],
            "num": [2.0, 1.0, 0.0, 1.0, 3.0],
            "den": [2.0, 2.0, 1.0, 1.0, 3.0],
            "category": ["math", "baseline", "math", "baseline", "tables"],
        }
    )
    summary = metrics.summarize(scores, pl.DataFrame({"sample_id": ["p1"]}), ["general", "by_category"])
    rows = {(r["aggregator"], r["group"]): r for r in summary.iter_rows(named=True)}
    # math 2/3, baseline 2/3, tables 3/3: the mean over categories
    assert rows[("general", "")]["value"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert rows[("by_category", "math")]["value"] == pytest.approx(2 / 3)
    assert (
        rows[("general", "")]["ci_low"] <= rows[("general", "")]["value"] <= rows[("general", "")]["ci_high"]
    )


def test_parts_aggregation_applies_the_metrics_formula_to_pooled_parts():
    from vlmhyperbench.scorers._builtin import omnidocbench_overall

    parts = [[0.2, 1, 1.6, 2, 0.9, 1], [0.4, 1, 0.0, 0, 0.5, 1]]
    scores = pl.DataFrame(
        {
            "model": "m",
            "sample_id": ["a", "b"],
            "metric": "omnidocbench_overall",
            "value": [0.0, 0.0],
            "parts": parts,
        }
    )
    summary = metrics.summarize(scores, pl.DataFrame({"sample_id": ["a"]}), ["general"])
    expected = ((1 - 0.6 / 2) + 1.6 / 2 + 1.4 / 2) / 3
    assert summary["value"][0] == pytest.approx(expected)
    assert omnidocbench_overall(np.array([[0.6, 2, 1.6, 2, 1.4, 2]]))[0] == pytest.approx(expected)
