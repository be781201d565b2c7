"""Errors of the metrics package.

BenchError (vlmhyperbench.errors)
 └── MetricError (ValueError)        a metric cannot be computed as asked: missing column, bad reference
      └── UnknownNameError           a metric, aggregator or task name that is not registered
"""

from __future__ import annotations

from vlmhyperbench.errors import BenchError


class MetricError(BenchError, ValueError):
    """A metric cannot be computed as asked; the message says what was found and what is needed."""


class UnknownNameError(MetricError):
    """A name that is not registered; `.known` lists the registered names."""

    def __init__(self, kind: str, name: str, known: list[str], suggestions: list[str]):
        self.kind, self.name, self.known = kind, name, known
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} '{name}'{hint} (known: {', '.join(known)})")
