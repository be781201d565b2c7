"""What the runner hands a scorer function, and the rows it may yield (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Context:
    scorer: str
    metrics: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    workdir: Path = Path(".")

    def wants(self, metric: str) -> bool:
        return metric in self.metrics


def score_row(sample_id: str, metric: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"sample_id": sample_id, "metric": metric, "value": float(value), **extra}


def not_scored(metric: str, reason: str, part: str = "") -> dict[str, Any]:
    return {"not_scored": metric, "reason": reason, "part": part}
