"""Claims by significance: a model is named "best" or "fastest" only when its 95 % interval separates from
every other model's; otherwise the report says which models are tied within noise.

    standing = standout([Entry("a", 6.680, 6.60, 6.75), Entry("b", 6.685, 6.61, 6.77)],
                        higher_is_better=False)
    standing.leader -> None;  standing.tied -> [a, b]
    standing.text("fastest") -> "tied within noise: a, b"

Separated means: for a higher-is-better figure, the leader's interval lies wholly above every other's
(its low above their high); for lower-is-better, wholly below. A figure without an interval claims
nothing. With one model there is nothing to compare, so nothing is claimed either.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    """One model's figure and its 95 % interval (low, high; None: no interval)."""

    name: str
    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Standing:
    """What may be said of a set of entries: the one that stands out (None if none does), and the entries
    tied with the best within noise (the best first)."""

    leader: Entry | None
    tied: list[Entry] = field(default_factory=list)
    compared: int = 0

    def text(self, claim: str, unit: str = "") -> str:
        """`CLAIM NAME (VALUE UNIT)` when one stands out, `tied within noise: A, B` when not."""
        if self.leader is not None:
            return f"{claim} {self.leader.name} ({self.leader.value:.3f}{unit})"
        if len(self.tied) > 1:
            return "tied within noise: " + ", ".join(e.name for e in self.tied)
        return ""


def standout(entries: list[Entry], *, higher_is_better: bool) -> Standing:
    """The entry whose interval separates from every other's, or those tied with the best (module doc)."""
    entries = [e for e in entries if e.value is not None]
    if len(entries) < 2:
        return Standing(None, [], len(entries))
    sign = -1.0 if higher_is_better else 1.0
    ranked = sorted(entries, key=lambda e: (sign * e.value, e.name))
    best = ranked[0]
    overlapping = [e for e in ranked[1:] if not _separated(best, e, higher_is_better)]
    if not overlapping:
        return Standing(best, [best], len(entries))
    return Standing(None, [best, *overlapping], len(entries))


def _separated(best: Entry, other: Entry, higher_is_better: bool) -> bool:
    """Whether BEST's interval lies wholly on the better side of OTHER's (no interval: not separated)."""
    if None in (best.low, best.high, other.low, other.high):
        return False
    if higher_is_better:
        return best.low > other.high
    return best.high < other.low
