"""Reasoning blocks removed from answers before any metric sees them.

Reasoning models wrap their thoughts in tags (`<think>...</think>`, Kimi-VL's `◁think▷...◁/think▷`) and
give the answer after them. The rule, applied in this order:

1. every complete block `<TAG>...</TAG>` is removed (tag names case-insensitive, any content, several
   blocks allowed);
2. a closing `</TAG>` still left (the chat template opened the block, as DeepSeek-R1's does) removes
   everything up to and including the last one;
3. an opening `<TAG>` still left (the answer was cut while reasoning) removes everything from it to the end;
4. when any of this removed something, the rest is stripped of leading and trailing whitespace; an answer
   without any reasoning tag is left exactly as it is.

The tags are REASONING_TAGS unless a dataset names its own (datasets.csv `reasoning` = `strip:think,scratch`);
`reasoning` = `keep` leaves answers untouched. The raw answer stays in the predictions either way.
"""

from __future__ import annotations

import functools
import re

import polars as pl

from metrics._unicode import whitespace

REASONING_TAGS = ("think", "thinking", "reasoning", "reflection", "thought")
"""The tag names removed by default, as `<NAME>...</NAME>`; `◁think▷...◁/think▷` is removed too."""
KEEP = "keep"
STRIP = "strip"
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_:-]{0,39}$")


def parse_reasoning(value: str | None) -> tuple[str, ...]:
    """The tag names a datasets.csv `reasoning` cell asks to remove: `strip` or empty (the defaults),
    `keep` (none), or `strip:NAME,NAME` (those). ValueError says what is allowed."""
    text = (value or "").strip()
    if text in ("", STRIP):
        return REASONING_TAGS
    if text == KEEP:
        return ()
    head, sep, names = text.partition(":")
    if head == STRIP and sep:
        tags = tuple(n.strip() for n in names.split(",") if n.strip())
        bad = [t for t in tags if not _TAG_NAME.match(t)]
        if tags and not bad:
            return tags
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not a tag name (letters, digits, _ : -)")
    raise ValueError(f"{text!r} is not a reasoning rule")


@functools.cache
def _patterns(tags: tuple[str, ...]) -> tuple[str, str, str, str]:
    """(any tag, complete blocks, up to the last closing tag, from an opening tag to the end): patterns
    that both Python's `re` and polars' Rust regex read the same way (no backreference)."""
    names = "|".join(re.escape(t) for t in tags)
    opening = rf"<(?:{names})\s*>"
    closing = rf"</(?:{names})\s*>"
    if "think" in tags:
        opening, closing = rf"(?:{opening}|◁think▷)", rf"(?:{closing}|◁/think▷)"
    blocks = "|".join(
        [rf"<{re.escape(t)}\s*>.*?</{re.escape(t)}\s*>" for t in tags]
        + (["◁think▷.*?◁/think▷"] if "think" in tags else [])
    )
    return (
        rf"(?i){opening}|{closing}",
        rf"(?is){blocks}",
        rf"(?is)^.*{closing}",
        rf"(?is){opening}.*$",
    )


def strip_reasoning(text: str | None, tags: tuple[str, ...] = REASONING_TAGS) -> str | None:
    """TEXT without its reasoning blocks (see the module docstring); None stays None."""
    if text is None or not tags:
        return text
    any_tag, blocks, up_to_close, from_open = _patterns(tags)
    if not re.search(any_tag, text):
        return text
    out = re.sub(blocks, "", text)
    out = re.sub(up_to_close, "", out, count=1)
    out = re.sub(from_open, "", out, count=1)
    return out.strip()


def strip_reasoning_expr(column: str | pl.Expr, tags: tuple[str, ...] = REASONING_TAGS) -> pl.Expr:
    """The polars expression of `strip_reasoning` over a String column (vectorised; equal value for value)."""
    col = pl.col(column) if isinstance(column, str) else column
    if not tags:
        return col
    any_tag, blocks, up_to_close, from_open = _patterns(tags)
    stripped = (
        col.str.replace_all(blocks, "")
        .str.replace(up_to_close, "")
        .str.replace(from_open, "")
        .str.strip_chars(whitespace())
    )
    return pl.when(col.str.contains(any_tag)).then(stripped).otherwise(col)
