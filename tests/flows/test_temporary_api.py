"""The temporary Prefect API a command starts (flows/cli/temporary_api.py) takes writes side by side without
refusing them: many subflows starting together wait for SQLite in turn, never for the client's back-off."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from flows.cli.lifecycle import _shielded_api_server


async def _side_by_side_writes(api_url: str, n: int) -> list[int]:
    """What N subflows starting together ask of the API: each a flow run, its parent's task run for it (read,
    then written) and its first state, all at once. The statuses of every write, as the API answered."""
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as client:
        flow = (await client.post("/flows/", json={"name": "side-by-side"})).json()
        parent = (await client.post("/flow_runs/", json={"flow_id": flow["id"]})).json()

        async def one_subflow(i: int) -> list[int]:
            task = await client.post(
                "/task_runs/",
                json={
                    "flow_run_id": parent["id"],
                    "task_key": f"evaluate-model-{i}",
                    "dynamic_key": str(i),
                    "name": f"evaluate-m{i}",
                },
            )
            if task.status_code >= 300:  # refused: this subflow goes no further
                return [task.status_code]
            run = await client.post(
                "/flow_runs/",
                json={
                    "flow_id": flow["id"],
                    "name": f"evaluate-m{i}",
                    "parent_task_run_id": task.json()["id"],
                },
            )
            if run.status_code >= 300:
                return [task.status_code, run.status_code]
            state = await client.post(
                f"/flow_runs/{run.json()['id']}/set_state",
                json={"state": {"type": "RUNNING", "name": "Running"}, "force": True},
            )
            return [task.status_code, run.status_code, state.status_code]

        return [s for statuses in await asyncio.gather(*(one_subflow(i) for i in range(n))) for s in statuses]


def test_many_subflows_start_together_without_a_refused_write(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / f"home-{uuid.uuid4().hex[:6]}"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    server = _shielded_api_server()
    server.start(timeout=180)
    try:
        statuses = asyncio.run(_side_by_side_writes(server.api_url, 40))
    finally:
        server.stop()
    refused = [s for s in statuses if s >= 300]
    assert not refused and len(statuses) == 120, f"{len(refused)} writes refused: {sorted(set(refused))}"


def test_a_run_beyond_the_threshold_points_to_a_server_once():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.benchmark import TEMPORARY_API_PAIRS, api_note

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert api_note(TEMPORARY_API_PAIRS) is None
        note = api_note(TEMPORARY_API_PAIRS + 1)
    assert "PostgreSQL" in note and "PREFECT_API_URL" in note
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert api_note(10 * TEMPORARY_API_PAIRS) is None  # a server is already in use
