"""Figures are shown one way everywhere: memory in MB without decimals, TTFT and ITL in milliseconds."""

from vlmhyperbench.report.numbers import figure, label


def test_memory_in_whole_mb_and_token_latencies_in_ms():
    assert figure("peak_rss_mb", 747.201) == "747"
    assert figure("peak_rss_mb", 1087.4) == "1,087"
    assert figure("ttft_p50_s", 0.3775) == "378"
    assert figure("itl_p50_s", 0.0079) == "7.9"
    assert figure("ttft_p50_s", 13.5531) == "13,553"
    assert figure("latency_p50_s", 0.975) == "0.975"
    assert figure("requests", 1200) == "1,200"
    assert figure("ttft_p50_s", None) == figure("peak_gpu_mb", float("nan")) == "–"


def test_labels_carry_the_unit_shown():
    assert label("ttft_p50_s") == "TTFT p50 ms"
    assert label("itl_p50_s") == "ITL p50 ms"
    assert label("latency_p90_s") == "latency p90 s"
    assert label("peak_rss_mb") == "peak RSS MB"
    assert label("requests_per_s") == "req/s"
