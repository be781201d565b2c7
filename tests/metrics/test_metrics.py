"""anls, cer and wer against the reference packages (the anls package, jiwer 4), value for value."""

from __future__ import annotations

import random

import jiwer
import polars as pl
import pytest
from anls import anls_score

from metrics import score

# Letters whose case rules trip up non-Python code (ß grows when upper-cased, İ lower-cases to two
# code points, final sigma depends on context, U+A7CB / U+1C89 are cased only in newer Unicode),
# whitespace that only Python counts (U+001C..U+001F, U+0085), combining marks, astral characters.
ODD = "ßẞİıΣσςﬁŉΐǰ\ua7cb\u1c89\U00010d50\u0301\u0307😀中文"
SPACE = " \t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u2003\u3000"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
ALPHABET = "abcXYZ019.,-" + CYRILLIC + ODD + SPACE + "  "
WORDS = ["счёт", "Счёт", "Москва", "ИНН", "total", "Total", "№", "12,50", "ß", "İstanbul", "ΣΟΦΙΑ", "a\tb"]


def _text(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.1:
        return ""
    if kind < 0.2:
        return "".join(r.choice(SPACE) for _ in range(r.randint(1, 4)))
    if kind < 0.55:
        return "".join(r.choice(ALPHABET) for _ in range(r.choice([1, 2, 5, 12, 30])))
    if kind < 0.99:
        gaps = [" ", " ", "  ", "\t", "\n", " \u00a0"]
        return "".join(r.choice(WORDS) + r.choice(gaps) for _ in range(r.randint(1, 6)))
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(150, 300)))


def _mutate(r: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(r.randint(0, 3)):
        op = r.random()
        if chars and op < 0.3:
            chars[r.randrange(len(chars))] = r.choice(ALPHABET)
        elif chars and op < 0.5:
            del chars[r.randrange(len(chars))]
        elif op < 0.7:
            chars.insert(r.randint(0, len(chars)), r.choice(ALPHABET))
        else:
            words = "".join(chars).split(" ")
            r.shuffle(words)
            chars = list(" ".join(words).upper() if r.random() < 0.3 else " ".join(words))
    return "".join(chars)


def _pairs(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    r = random.Random(seed)
    preds, refs = [], []
    for _ in range(n):
        ref = [_text(r) for _ in range(r.choice([1, 1, 1, 2, 3]))]
        pred = _mutate(r, ref[0]) if r.random() < 0.7 else _text(r)
        preds.append(pred)
        refs.append(ref)
    return preds, refs


def _table(preds: list[str], refs: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"sample_id": [str(i) for i in range(len(preds))], "prediction": preds, "references": refs},
        schema_overrides={"references": pl.List(pl.String)},
    )


def _jiwer(measure, ref: str, pred: str) -> float:
    if (
        ref.strip() == ""
    ):  # the metric definition: an empty reference scores 0 for an empty prediction, else 1
        return 0.0 if pred.strip() == "" else 1.0
    return measure(ref, pred)


@pytest.fixture(scope="module")
def random_pairs():
    return _pairs(3000, seed=7)


def test_anls_equals_the_anls_package(random_pairs):
    preds, refs = random_pairs
    ours = score("anls", _table(preds, refs)).get_column("value").to_list()
    expected = [anls_score(p, rs) for p, rs in zip(preds, refs)]
    assert ours == expected
    assert 0 < sum(0 < v < 1 for v in ours)  # the random pairs do reach the partial scores


@pytest.mark.parametrize(("metric", "measure"), [("cer", jiwer.cer), ("wer", jiwer.wer)])
def test_cer_wer_equal_jiwer_per_sample_and_over_the_corpus(random_pairs, metric, measure):
    preds, refs = random_pairs
    rows = score(metric, _table(preds, refs))
    assert rows.get_column("value").to_list() == [_jiwer(measure, rs[0], p) for p, rs in zip(preds, refs)]
    kept = [i for i, rs in enumerate(refs) if rs[0].strip()]
    corpus = rows[kept].select(pl.col("num").sum() / pl.col("den").sum()).item()
    assert corpus == measure([refs[i][0] for i in kept], [preds[i] for i in kept])


@pytest.mark.parametrize(
    ("pred", "refs", "expected"),
    [
        ("Hello  World", ["hello world"], 1.0),
        ("", [""], 1.0),
        (" ", ["\t"], 1.0),
        ("ß", [""], 0.0),  # the package divides by len("SS") = 2: 1/2 is not below 0.5
        ("abß", ["abx"], 2 / 3),  # distance 1 over len("ABSS") = 4 would be 0.75; max(4, 3) = 4
        ("ΟΔΟΣ ΣΑ", ["οδος σα"], 1.0),  # final sigma: Python lower-cases by context
        ("\ua7cb", ["\u0264"], 0.0),  # Python 3.11 does not lower-case U+A7CB; polars would
        ("Иванов И.И.", ["иванов и.и.", "x"], 1.0),
        ("abc", [], 0.0),  # no reference at all (the package raises)
    ],
)
def test_anls_edge_cases(pred, refs, expected):
    value = score("anls", _table([pred], [refs])).get_column("value").item()
    assert value == (anls_score(pred, refs) if refs else expected)


@pytest.mark.parametrize(
    ("pred", "ref"),
    [
        ("a\tb", "a b"),  # a lone tab is inside a word for jiwer
        ("a\t b", "a b"),  # a run of two whitespace characters separates
        ("a\u00a0b", "a b"),
        ("  a  b  ", "a b"),
        ("\x1ca b\x1f", "a b"),
        ("Счёт №5", "счёт № 5"),
        ("", "abc"),
        (" ", "abc"),
        ("abc", "abc"),
        ("İ", "i"),
        ("x" * 300, "y" * 200),
    ],
)
def test_cer_wer_edge_cases(pred, ref):
    table = _table([pred], [[ref]])
    assert score("cer", table).get_column("value").item() == jiwer.cer(ref, pred)
    assert score("wer", table).get_column("value").item() == jiwer.wer(ref, pred)


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("", "", 0.0),
        (" ", "", 0.0),
        ("", "\t ", 0.0),
        ("abc", "", 1.0),
        ("a b", " ", 1.0),
    ],
)
def test_empty_reference_scores_0_or_1(pred, ref, expected):
    table = _table([pred], [[ref]])
    for metric in ("cer", "wer"):
        assert score(metric, table).get_column("value").item() == expected


def test_cer_uses_the_first_reference_and_null_prediction_is_empty():
    table = pl.DataFrame(
        {"sample_id": ["1", "2"], "prediction": [None, "abc"], "references": [["abcd"], ["abd", "abc"]]}
    )
    assert score("cer", table).get_column("value").to_list() == [1.0, jiwer.cer("abd", "abc")]


def test_more_distinct_words_than_code_points_still_counts_right(monkeypatch, random_pairs):
    from metrics import _edit

    preds, refs = random_pairs
    expected = score("wer", _table(preds, refs))
    monkeypatch.setattr(_edit, "_MAX_WORD_ID", 3)  # as if the batch had over a million words
    assert score("wer", _table(preds, refs)).equals(expected)


def test_empty_table_gives_empty_rows():
    for metric in ("anls", "cer", "wer", "exact_match"):
        out = score(metric, _table([], []))
        assert out.height == 0 and out.schema["value"] == pl.Float64
