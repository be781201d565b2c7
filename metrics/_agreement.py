"""Agreement between two raters of the same samples, each saying correct or incorrect (a judge and a rule
metric, or two judges): the share of samples where they agree, and Cohen's kappa.

    a = agreement([True, True, False, False], [True, False, False, False])
    a.n, a.agree, a.kappa        -> 4, 0.75, 0.5

With p_o the share of agreement and p_e = pA(correct) * pB(correct) + pA(incorrect) * pB(incorrect) the
agreement expected by chance, kappa = (p_o - p_e) / (1 - p_e) (Cohen 1960; equal to scikit-learn's
`cohen_kappa_score`). It is undefined (None) when p_e = 1, i.e. when both raters say the same thing of
every sample, and for no sample at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Agreement:
    """Two raters over the N samples both rated: the 2x2 table, the share agreeing, Cohen's kappa."""

    n: int
    both_correct: int
    both_incorrect: int
    only_a_correct: int
    only_b_correct: int
    agree: float | None
    """(both_correct + both_incorrect) / n; None when n = 0."""
    kappa: float | None
    """Cohen's kappa; None when undefined (n = 0, or p_e = 1)."""


def agreement(a: Sequence[bool] | np.ndarray, b: Sequence[bool] | np.ndarray) -> Agreement:
    """A and B's agreement over the same samples, in the same order (True = correct)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"agreement: {a.size} ratings against {b.size}; rate the same samples")
    n = int(a.size)
    both_correct = int(np.sum(a & b))
    both_incorrect = int(np.sum(~a & ~b))
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if n == 0:
        return Agreement(0, 0, 0, 0, 0, None, None)
    agreed = both_correct + both_incorrect
    # kappa = (p_o - p_e) / (1 - p_e) with both shares over n, in integers until the one division, so
    # that a kappa of 0 is exactly 0
    a_correct, b_correct = both_correct + only_a, both_correct + only_b
    chance = a_correct * b_correct + (n - a_correct) * (n - b_correct)  # p_e * n^2
    kappa = None if chance == n * n else (n * agreed - chance) / (n * n - chance)
    return Agreement(n, both_correct, both_incorrect, only_a, only_b, agreed / n, kappa)
