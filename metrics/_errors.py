"""Errors of the metrics package.

BenchError (vlmhb_core.errors)
 ├── MetricError (ValueError)        a metric cannot be computed as asked: missing column, bad reference
 └── UnknownNameError (ValueError)   a metric or aggregator name that is not registered
"""

from __future__ import annotations

from vlmhb_core.errors import BenchError, UnknownNameError

__all__ = ["MetricError", "UnknownNameError"]


class MetricError(BenchError, ValueError):
    """A metric cannot be computed as asked; the message says what was found and what is needed."""
