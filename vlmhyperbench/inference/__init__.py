"""Inference: streamed chat requests to an OpenAI-compatible endpoint, timed on the client (chat), the
append-only journal every answer goes to as it arrives (journal), and the speed figures computed from
the stored answers (performance)."""

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
from vlmhyperbench.inference.journal import PREDICTION_SCHEMA, PredictionJournal
from vlmhyperbench.inference.performance import (
    left_out_mask,
    left_out_reasons,
    measured_window_s,
    percentile,
    performance_row,
)

__all__ = [
    "PREDICTION_SCHEMA",
    "Answer",
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
