"""Python's own Unicode rules, made usable from polars without losing bit-identity.

The reference packages run on Python strings: the ANLS package lower-cases with `str.lower` and
splits on `str.isspace`, jiwer strips with `str.strip` and collapses runs matched by `re`'s `\\s`.
polars runs on Rust, whose Unicode tables are newer than Python's (Rust lower-cases some 55
characters that Python 3.11 still sees as unassigned), and whose `\\s` and `strip` use a slightly
different whitespace set (Python counts U+001C..U+001F as whitespace). So the vectorised paths below
spell every character class out from Python's tables, and send the rare strings polars would
lower-case differently through `str.lower` itself. The tables are built once, on first use.
"""

from __future__ import annotations

import functools
import re
import sys

import numpy as np
import polars as pl


def char_class(chars: str | set[str]) -> str:
    """A Rust-regex character class matching exactly `chars` (code points spelled as \\x{..})."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        parts.append(f"\\x{{{points[i]:X}}}" + (f"-\\x{{{points[j]:X}}}" if j > i else ""))
        i = j + 1
    return "[" + "".join(parts) + "]" if parts else r"[^\x{0}-\x{10FFFF}]"


@functools.cache
def whitespace() -> str:
    """Every character `str.isspace()` accepts: what `str.strip()` and `str.split()` remove."""
    return "".join(filter(str.isspace, _every_char()))


@functools.cache
def re_whitespace() -> str:
    """Every character Python's `re` matches with `\\s` (jiwer's RemoveMultipleSpaces)."""
    return "".join(re.findall(r"\s", _every_char()))


def _every_char() -> str:
    return "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, sys.maxunicode + 1)))


@functools.cache
def odd_chars() -> str:
    """A class of the characters after which polars cannot stand in for Python in `normalize`.

    Those polars lower-cases unlike Python, capital sigma (its lower case depends on its
    neighbours), and those whose lower case grows when upper-cased again (the ANLS package divides
    by `len(x.upper())`: 'ß' counts 2). A string holding none of them is done in polars alone.
    """
    # Every character, NUL-separated (NUL has no case; surrogates are no characters).
    points = np.arange(1, sys.maxunicode + 1, dtype=np.uint32)
    points = points[(points < 0xD800) | (points >= 0xE000)]
    spaced = np.zeros(2 * len(points), np.uint32)
    spaced[::2] = points
    joined = spaced.tobytes().decode("utf-32-le")

    def pieces(text: str) -> tuple[np.ndarray, np.ndarray]:
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        return codes, np.flatnonzero(codes == 0)

    py_lower, seps = pieces(joined.lower())
    pl_lower, _ = pieces(pl.Series([joined]).str.to_lowercase()[0])
    upper, upper_seps = pieces(joined.upper())
    growing = points[np.diff(upper_seps, prepend=-1) != 2]
    odd = {0x3A3}
    if len(py_lower) == len(pl_lower):
        odd.update(points[np.searchsorted(seps, np.flatnonzero(py_lower != pl_lower))].tolist())
    else:  # they disagree on some length somewhere: trust polars with ASCII only
        odd.update(range(0x80, sys.maxunicode + 1))
    odd.update(points[np.searchsorted(seps, np.flatnonzero(np.isin(py_lower, growing)))].tolist())
    return char_class({chr(c) for c in odd if not 0xD800 <= c < 0xE000})


def normalize(text: str) -> str:
    """The ANLS package's normalisation: lower-cased, stripped, whitespace runs made one space."""
    return " ".join(text.lower().split())


def normalize_series(s: pl.Series) -> pl.Series:
    """`normalize` of each string (null counts as ''), vectorised and bit-identical to it."""
    s = s.cast(pl.String).fill_null("")
    out = s.str.to_lowercase().str.replace_all(collapsible(), " ").str.strip_chars(" ")
    odd = s.str.contains(odd_chars())
    if odd.any():
        idx = odd.arg_true()
        out = out.scatter(idx, [normalize(x) for x in s.gather(idx).to_list()])
    return out


@functools.cache
def collapsible() -> str:
    """Whitespace that `" ".join(x.split())` changes: runs of two or more, or any but a space."""
    ws = whitespace()
    return f"{char_class(ws)}{{2,}}|{char_class(set(ws) - {' '})}"
