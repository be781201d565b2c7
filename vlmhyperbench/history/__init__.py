"""The history: the earlier runs of a results folder. Each run's regressions against the previous one,
its quality gates, and the trend of every value across runs."""

from vlmhyperbench.history.gate_checks import (
    FAILED,
    PASSED,
    UNCHECKED,
    GateCheck,
    GateReport,
    PlannedPair,
    evaluate_gates,
    print_gates,
    table_rows,
    write_result,
)
from vlmhyperbench.history.regressions import (
    Regression,
    default_threshold,
    find_regressions,
    previous_values,
    read_regressions,
    regressions_frame,
    run_thresholds,
    threshold_for,
)
from vlmhyperbench.history.runs import RunInfo, list_runs, load_history, scan_table
from vlmhyperbench.history.trend import print_trend, trend, trend_table

__all__ = [
    "FAILED",
    "PASSED",
    "UNCHECKED",
    "GateCheck",
    "GateReport",
    "PlannedPair",
    "Regression",
    "RunInfo",
    "default_threshold",
    "evaluate_gates",
    "find_regressions",
    "list_runs",
    "load_history",
    "previous_values",
    "print_gates",
    "print_trend",
    "read_regressions",
    "regressions_frame",
    "run_thresholds",
    "scan_table",
    "table_rows",
    "threshold_for",
    "trend",
    "trend_table",
    "write_result",
]
