"""Inference: streamed chat requests to an OpenAI-compatible endpoint, timed on the client (chat), the
append-only journal every answer goes to as it arrives (journal), the speed figures computed from the
stored answers (performance), and the answers as metrics and judges see them, reasoning removed (answers).
"""

from vlmhyperbench.inference.answers import TASK_COLUMNS, answer_table
from vlmhyperbench.inference.chat import (
    Answer,
    Endpoint,
    ImageSource,
    RequestItem,
    RunStats,
    build_body,
    check_health,
    list_models,
    run_requests,
)
from vlmhyperbench.inference.performance import (
    left_out_mask,
    left_out_reasons,
    measured_window_s,
    percentile,
    performance_row,
)
from vlmhyperbench.inference.prediction_journal import PREDICTION_SCHEMA, PredictionJournal

__all__ = [
    "PREDICTION_SCHEMA",
    "TASK_COLUMNS",
    "Answer",
    "answer_table",
    "Endpoint",
    "ImageSource",
    "PredictionJournal",
    "RequestItem",
    "RunStats",
    "build_body",
    "check_health",
    "left_out_mask",
    "left_out_reasons",
    "list_models",
    "measured_window_s",
    "percentile",
    "performance_row",
    "run_requests",
]
