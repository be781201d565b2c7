"""How a dataset of PDFs is cut into samples and rendered: datasets.csv's `dpi`, `pages`, `max_pages` and
`reference` columns, for the formats whose reader takes them (`pdf`, `olmocr_bench`).

    dpi         resolution pages are rendered at (default 144; 72..600)
    pages       all (default): a document is one sample of every page; each: one sample per page;
                N or N-M: that page or range of each document as one sample; evidence: the pages the
                question's annotation names (only a benchmark that has them: MMLongBench-Doc)
    max_pages   at most this many pages of each document (the first ones of the selection)
    reference   annotation (default): the annotation file's answers; text_layer: the PDF's own text
                (born-digital PDFs become an OCR benchmark without any annotation)
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from functools import lru_cache

from vlmhyperbench.datasets._pages import DEFAULT_DPI

MIN_DPI, MAX_DPI = 72, 600
REFERENCES = ("annotation", "text_layer")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class PageSelection:
    """Which pages of a document make its samples: every page as one sample, each page alone, or a range."""

    mode: str = "all"
    """all, each, range or evidence."""
    first: int = 1
    last: int | None = None
    """1-based, inclusive; None: to the end."""

    def indices(self, n_pages: int, max_pages: int | None) -> list[int]:
        """The 0-based pages selected from a document of N_PAGES, cut to MAX_PAGES."""
        last = n_pages if self.last is None else min(self.last, n_pages)
        chosen = list(range(self.first - 1, last))
        return chosen[:max_pages] if max_pages else chosen


PAGE_MODES = ("all", "each", "range")
"""The page selections a reader of PDFs takes unless it says otherwise (its `page_modes` attribute)."""


def parse_pages(text: str | None) -> PageSelection:
    """`all`, `each`, `evidence`, `3` or `2-5` -> PageSelection; ValueError saying what is allowed."""
    value = (text or "").strip().lower()
    if value in ("", "all"):
        return PageSelection("all")
    if value in ("each", "evidence"):
        return PageSelection(value)
    m = _RANGE.match(value)
    if m:
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first >= 1 and last >= first:
            return PageSelection("range", first, last)
    raise ValueError(
        f"{text!r} is not a page selection (allowed: all, each, evidence, N, N-M with 1 <= N <= M)"
    )


def page_modes(reader) -> tuple[str, ...]:
    """The page selections READER takes (all, each, range, evidence)."""
    return getattr(reader, "page_modes", PAGE_MODES)


@dataclass(frozen=True)
class PageOptions:
    """A PDF dataset's rendering and sampling options (see the module docstring)."""

    dpi: int = DEFAULT_DPI
    pages: PageSelection = PageSelection()
    max_pages: int | None = None
    reference: str = "annotation"

    @classmethod
    def of(
        cls,
        *,
        dpi: int | None = None,
        pages: str | None = None,
        max_pages: int | None = None,
        reference: str | None = None,
    ) -> PageOptions:
        """Checked options from the columns' values (None = default); ValueError naming the bad one."""
        if dpi is not None and not MIN_DPI <= dpi <= MAX_DPI:
            raise ValueError(f"dpi {dpi} is outside {MIN_DPI}..{MAX_DPI}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages {max_pages} is below the minimum 1")
        if reference not in (None, "", *REFERENCES):
            raise ValueError(f"reference {reference!r} is not one of {', '.join(REFERENCES)}")
        return cls(
            dpi=dpi or DEFAULT_DPI,
            pages=parse_pages(pages),
            max_pages=max_pages,
            reference=reference or "annotation",
        )

    @classmethod
    def from_cells(cls, cells: dict[str, str]) -> PageOptions:
        """From a datasets.csv row's raw cells (a run folder's copy of the config); defaults where empty."""

        def number(name: str) -> int | None:
            text = (cells.get(name) or "").strip()
            return int(text) if text else None

        return cls.of(
            dpi=number("dpi"),
            pages=cells.get("pages") or None,
            max_pages=number("max_pages"),
            reference=cells.get("reference") or None,
        )

    def is_default(self) -> bool:
        return self == PageOptions()


@lru_cache(maxsize=64)
def takes_page_options(reader) -> bool:
    """Whether a reader accepts `options=PageOptions(...)` (the PDF formats do)."""
    try:
        return "options" in inspect.signature(reader).parameters
    except (TypeError, ValueError):
        return False
