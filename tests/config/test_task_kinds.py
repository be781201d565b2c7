"""Task kinds: each task's default metrics (and its built-in prompt) live with the task, not the metrics."""

from __future__ import annotations

import pytest

from vlmhyperbench.config import default_metrics
from vlmhyperbench.errors import UnknownNameError


def test_default_metrics_per_task():
    assert default_metrics("ocr") == ["cer", "wer"]
    assert default_metrics("vqa") == ["anls", "exact_match"]
    assert default_metrics("classification") == ["accuracy", "f1_macro"]
    assert default_metrics("kie") == ["field_f1"]
    assert default_metrics("ordering") == ["kendall_tau"]
    with pytest.raises(UnknownNameError, match="unknown task 'ocrr'"):
        default_metrics("ocrr")
