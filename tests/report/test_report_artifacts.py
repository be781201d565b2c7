"""The report task publishes its Prefect artifacts (leaderboard table, markdown summary, link to the report)
in the flow run that calls it, against a real temporary Prefect API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import flow

from tasks.report import report
from tests.support.prefect_api import read_artifacts
from tests.support.synthetic_runs import build_run, make_config, write_run

BASE = set(range(0, 40, 5))


@flow(name="report-artifacts-test")
def report_flow(results: str, run_id: str, config: str) -> str:
    from prefect.runtime import flow_run

    run, manifest, scores, summaries, performance = build_run(
        Path(results),
        run_id,
        Path(config),
        {"alpha": BASE | set(range(1, 40, 3)), "beta": BASE},
        started_at="2026-03-02T00:00:00+00:00",
        failed={"delta": "EnvBuildError: pip could not resolve <pkg>"},
    )
    report(run, manifest, scores, summaries, performance)
    return flow_run.id


def test_report_task_publishes_artifacts(prefect_harness, tmp_path):
    config = make_config(tmp_path, n=40)
    results = tmp_path / "results"
    write_run(results, "prev", config, {"alpha": BASE, "beta": BASE}, started_at="2026-03-01T00:00:00+00:00")
    flow_run_id = report_flow(str(results), "next", str(config))
    artifacts = asyncio.run(read_artifacts(str(flow_run_id)))
    assert set(artifacts) >= {"leaderboard", "summary", "report"}

    table = artifacts["leaderboard"]
    assert table.type == "table"
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    by_model = {r["model"]: r for r in rows}
    assert set(by_model) == {"alpha", "beta", "delta"}
    assert "anls" in by_model["alpha"]["regressions"] and "regressions" not in by_model["beta"]
    assert by_model["delta"]["status"] == "failed" and "EnvBuildError" in by_model["delta"]["error"]
    assert isinstance(by_model["beta"]["latency_p50_s"], float)

    summary = artifacts["summary"]
    assert summary.type == "markdown"
    text = summary.data
    # beta 0.80 and alpha 0.53 on 40 samples: their intervals touch, so neither is named best; alpha's
    # median latency is half of beta's, far beyond its interval
    assert "## Best model per dataset" in text and "anls ↑: tied within noise: beta, alpha" in text
    assert "speed: fastest alpha (" in text
    assert "## Regressions (2)" in text and "alpha / docs-vqa / anls" in text and "previous run prev" in text
    assert (
        "## Failures (1)" in text
        and "delta / docs-vqa: EnvBuildError: pip could not resolve &lt;pkg&gt;" in text
    )

    link = artifacts["report"]
    assert link.type == "markdown"  # Prefect stores a link artifact as markdown: [text](url)
    assert (results / "next" / "report.html").resolve().as_uri() in str(link.data)
