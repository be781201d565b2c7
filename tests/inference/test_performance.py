"""The speed, page and cost columns of performance.parquet, and the saturation level of a load curve, on
predictions written by hand (the figures follow from them exactly)."""

from __future__ import annotations

import polars as pl
import pytest

from vlmhyperbench.inference.performance import performance_row, saturation_level, with_saturation


def predictions(usage: bool = True) -> pl.DataFrame:
    # 4 requests over a 10 s window: 3 answered (2, 1 and 3 pages), 1 failed (1 page), 1 never sent
    return pl.DataFrame(
        {
            "sample_id": ["a", "b", "c", "d", "e"],
            "error": [None, None, None, "HTTP 500", "image unreadable"],
            "attempts": [1, 1, 1, 3, 0],
            "latency_s": [2.0, 0.5, 3.0, None, None],
            "ttft_s": [0.5, 0.2, 0.6, None, None],
            "output_tokens": [100, 50, 150, None, None],
            "input_tokens": [1000, 500, 1500, None, None] if usage else [None] * 5,
            "pages": [2, 1, 3, 1, 1],
            "sent_at": [0.0, 1.0, 2.0, 3.0, None],
            "finished_at": [2.0, 1.5, 5.0, 10.0, None],
        }
    )


def test_pages_per_second_per_page_tokens_and_gpu_hours():
    row = performance_row(predictions(), concurrency=4, gpus=2)
    assert (row["requests"], row["errors"], row["left_out"], row["window_s"]) == (4, 1, 1, 10.0)
    assert row["pages"] == 2 + 1 + 3 + 1  # images of the requests sent, the failed one included
    assert row["pages_per_s"] == pytest.approx(6 / 10)  # pages answered over the window
    assert row["s_per_page_p50"] == pytest.approx(1.0)  # median of 1.0, 0.5, 1.0 s per page
    assert row["input_tokens_per_page"] == pytest.approx(3000 / 6)
    assert row["output_tokens_per_page"] == pytest.approx(300 / 6)
    assert row["gpu_hours"] == pytest.approx(2 * 10 / 3600)
    assert row["usd"] is None and row["usd_per_1k_pages"] is None


def test_cost_by_the_hour_and_by_the_token():
    hourly = performance_row(predictions(), concurrency=4, cost_per_hour=36.0)
    assert hourly["usd"] == pytest.approx(0.1) and hourly["usd_per_1k_pages"] == pytest.approx(0.1 / 6 * 1000)
    tokens = performance_row(predictions(), concurrency=4, price_in=2.0, price_out=8.0)
    assert tokens["usd"] == pytest.approx((3000 * 2 + 300 * 8) / 1e6)
    # without usage the token counts are unknown: no per-page tokens, no token-priced cost
    unknown = performance_row(predictions(usage=False), concurrency=4, price_in=2.0, price_out=8.0)
    assert unknown["input_tokens_per_page"] is None and unknown["usd_per_1k_pages"] is None


@pytest.mark.parametrize(
    "levels, expected",
    [
        ([(1, 10.0, 0.10), (4, 38.0, 0.11), (16, 80.0, 0.20), (64, 82.0, 0.78)], 16),
        ([(64, 82.0, 0.78), (1, 10.0, 0.10), (16, 80.0, 0.20), (4, 38.0, 0.11)], 16),  # any order
        ([(1, 10.0, 0.10), (4, 39.0, 0.10), (16, 150.0, 0.11)], None),  # still growing
        ([(1, 10.0, 0.10), (4, 10.5, 0.10)], None),  # flat, but latency does not rise: not saturated
        ([(1, 10.0, 0.10), (4, None, None)], None),  # a level without figures (failed)
    ],
)
def test_saturation_level(levels, expected):
    assert saturation_level(levels) == expected


def test_with_saturation_marks_only_load_curves():
    perf = pl.DataFrame(
        {
            "model": ["m", "m", "m", "n"],
            "dataset": ["d"] * 4,
            "perturbation": [""] * 4,
            "concurrency": [1.0, 8.0, 32.0, 8.0],
            "requests_per_s": [10.0, 70.0, 72.0, 50.0],
            "latency_p50_s": [0.1, 0.11, 0.4, 0.2],
        }
    )
    assert with_saturation(perf)["saturation"].to_list() == [False, True, False, None]
