"""One benchmark run through `python -m flows.benchmark` on real Prefect against real servers on 127.0.0.1:
- a load curve (plan.csv concurrency `1 2 8`) against a synthetic server of capacity 2: each level on the
  same samples, kept apart (files STEM@cN, manifest pairs, performance rows), quality scored once, each
  level judged for saturation (where it falls depends on this machine's load: bench/bench_load_curve.py);
- an Azure OpenAI endpoint (deployment, api-version, api-key header) priced by the token, and a gateway that
  takes its access code as a query parameter (from a variable), priced by the hour: pages and cost columns,
  the quality-versus-cost plot, and neither the key nor the code in any file of the run or the output.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.support.fault_servers import FaultServer, cli_env, run_cli, simple_dataset

pytestmark = pytest.mark.slow

KEY = "az-key-31415926535"
CODE = "gw-code-27182818284"
N = 30


@pytest.fixture(scope="module")
def run(tmp_path_factory, api_url):
    tmp = tmp_path_factory.mktemp("gateways")
    servers = {
        # 60 ms to the first token, 4 tokens 10 ms apart: 90 ms a request, at most 2 at once
        "curve": FaultServer("--ttft-ms", "60", "--itl-ms", "10", "--tokens", "4", "--capacity", "2"),
        "azure": FaultServer("--azure", "2024-10-21", "--api-key", KEY, "--tokens", "4", model="prod-4o"),
        "gateway": FaultServer("--require-query", f"code={CODE}", "--tokens", "4"),
    }
    try:
        config = tmp / "config"
        simple_dataset(config / "qa", N)
        azure = f"http://127.0.0.1:{servers['azure'].port}"
        (config / "models.csv").write_text(
            "name;backend;model;base_url;api_key_env;api_version;deployment;query;cost_per_hour;price_in;price_out\n"
            f"curve;openai;synthetic;{servers['curve'].base_url};;;;;;;\n"
            f"azure;openai;gpt-4o;{azure};AZ_KEY;2024-10-21;prod-4o;;;2.5;10\n"
            f"gateway;openai;synthetic;{servers['gateway'].base_url};;;;code=${{GW_CODE}};1.8;;\n"
        )
        (config / "datasets.csv").write_text("name;task;path;metrics\nqa;vqa;qa;anls exact_match\n")
        (config / "plan.csv").write_text(
            "model;dataset;concurrency\ncurve;qa;8 1 2\nazure;qa;2\ngateway;qa;2\n"
        )
        out = tmp / "results"
        env = cli_env(tmp, PREFECT_API_URL=api_url, AZ_KEY=KEY, GW_CODE=CODE)
        args = ("--config", str(config), "--output", str(out), "--run-id", "r")
        code, output = run_cli(*args, env=env, log=tmp / "log", timeout=600)
        yield code, output, out / "r"
    finally:
        for server in servers.values():
            server.stop()


def test_every_pair_and_level_completes(run):
    code, output, folder = run
    assert code == 0, output[-3000:]
    pairs = {
        (p["model"], p.get("concurrency")): p["status"]
        for p in json.loads((folder / "manifest.json").read_text())["pairs"]
    }
    assert pairs == {
        ("curve", None): "completed",  # the first level is the pair itself
        ("curve", 2): "completed",
        ("curve", 8): "completed",
        ("azure", None): "completed",
        ("gateway", None): "completed",
    }


def test_levels_are_kept_apart_and_quality_is_scored_once(run):
    _, _, folder = run
    for stem in ("qa", "qa@c2", "qa@c8"):
        assert pl.read_parquet(folder / "predictions" / "curve" / f"{stem}.parquet").height == N
    perf = (
        pl.read_parquet(folder / "performance.parquet").filter(pl.col("model") == "curve").sort("concurrency")
    )
    assert perf["concurrency"].to_list() == [1, 2, 8]
    assert perf["answers_differ"].to_list() == [None, 0, 0]  # the same answers: scored once
    summary = pl.read_parquet(folder / "summary.parquet").filter(
        (pl.col("model") == "curve") & (pl.col("aggregator") == "general")
    )
    assert sorted(summary["metric"].to_list()) == ["anls", "exact_match"]  # once, not once per level
    # the figures depend on this machine's load (bench/bench_load_curve.py measures them): here, only that
    # each level of the curve is judged, and at most one is the saturation level
    assert perf["saturation"].null_count() == 0 and perf["saturation"].sum() <= 1
    others = pl.read_parquet(folder / "performance.parquet").filter(pl.col("model") != "curve")
    assert others["saturation"].null_count() == others.height  # not on a load curve


def test_pages_and_cost_columns(run):
    _, _, folder = run
    perf = {r["model"]: r for r in pl.read_parquet(folder / "performance.parquet").iter_rows(named=True)}
    az, gw = perf["azure"], perf["gateway"]
    assert az["pages"] == N and az["pages_per_s"] > 0 and az["s_per_page_p50"] > 0
    # the synthetic server reports usage: the prompt's words as input, 4 tokens out
    assert (
        az["output_tokens_per_page"] == 4 and az["input_tokens_per_page"] > 4
    )  # the prompt, not just the question
    tokens_in, tokens_out = az["input_tokens_per_page"] * N, 4 * N
    assert az["usd_per_1k_pages"] == pytest.approx((tokens_in * 2.5 + tokens_out * 10) / 1e6 / N * 1000)
    assert gw["usd_per_1k_pages"] == pytest.approx(1.8 * gw["window_s"] / 3600 / N * 1000, rel=1e-6)
    assert perf["curve"]["usd_per_1k_pages"] is None and az["gpu_hours"] is None


def test_reports_show_cost_and_load_curves_and_no_secret(run):
    _, output, folder = run
    board = (folder / "leaderboard.md").read_text()
    assert "$ / 1k pages" in board and "## Load curves" in board and "| curve | qa | 8" in board
    html = (folder / "report.html").read_text()
    assert 'id="cost"' in html and 'id="load"' in html and 'aria-label="load-curve' in html
    for secret in (KEY, CODE):
        assert secret not in output
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret} in {path}"
