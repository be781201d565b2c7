"""build_env and serve retry what a retry can cure, and only that: a package index that drops the first
request, a port taken between probe and bind. A bad requirement fails at once. Real Prefect task runs
(their run counts read back from the API), a real venv built by pip from a package index on 127.0.0.1,
and a real model server."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest
from prefect import flow

from environments.backends import BACKENDS
from environments.manager import EnvManager
from environments.spec import EnvSpec
from tasks.build_env import build_env
from tasks.runtime import is_transient
from tests.support.package_index import PROBE, FlakyIndex
from vlmhb_core.errors import EnvBuildError, ServerError


@pytest.fixture
def index_env(monkeypatch):
    """pip, with no retries of its own and no config file, pointed at a FlakyIndex made by the test."""
    made: list[FlakyIndex] = []

    def make(failures: int) -> FlakyIndex:
        index = FlakyIndex(failures)
        made.append(index)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_INDEX_URL", index.url)
        monkeypatch.setenv("PIP_RETRIES", "0")
        monkeypatch.setenv("PIP_TIMEOUT", "5")
        return index

    yield make
    for index in made:
        index.close()


def build_in_a_flow(cache: Path, package: str) -> tuple[BaseException | None, str]:
    """build_env of a venv with PACKAGE, as a task of a real flow run; (its error, the task run's id)."""
    spec = EnvSpec(
        backend="test",
        provider="venv",
        python="3.11",
        packages=(package,),
        env_vars=(("RUN", uuid.uuid4().hex),),
    )

    @flow(name="build-env-retry-test")
    async def one_build():
        state = await build_env(
            EnvManager(cache, installer="pip"), spec, "probe", cache / "build.log", return_state=True
        )
        value = await state.result(raise_on_failure=False)
        return (value if isinstance(value, BaseException) else None), str(state.state_details.task_run_id)

    return asyncio.run(one_build())


async def run_count(task_run_id: str) -> int:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return (await client.read_task_run(task_run_id)).run_count


@pytest.mark.slow
def test_an_index_that_drops_the_first_request_costs_a_retry_not_the_model(
    prefect_harness, index_env, tmp_path
):
    index = index_env(failures=1)
    error, task_run_id = build_in_a_flow(tmp_path / "cache", f"{PROBE}==0.1")
    assert error is None, error
    assert asyncio.run(run_count(task_run_id)) == 2, "the first attempt met the 503, the retry built it"
    assert index.requests >= 3  # the failed page, then the page and the wheel


@pytest.mark.slow
def test_a_bad_requirement_is_not_retried(prefect_harness, index_env, tmp_path):
    index_env(failures=0)
    error, task_run_id = build_in_a_flow(tmp_path / "cache", "vlmhb-no-such-package==9.9")
    assert isinstance(error, EnvBuildError) and not error.transient, error
    assert "vlmhb-no-such-package" in str(error)
    assert asyncio.run(run_count(task_run_id)) == 1


def test_transient_failures_are_told_apart_from_the_projects_own_errors():
    from environments.process import port_taken
    from environments.venv import network_failure

    assert network_failure(
        "Could not fetch URL http://127.0.0.1:9/simple/x/: Max retries exceeded with url: /simple/x/ "
        "(Caused by ResponseError('too many 503 error responses'))"
    )
    assert network_failure(
        "error: Failed to fetch: `http://127.0.0.1:9/simple/x/`\n  Caused by: Connection refused"
    )
    assert not network_failure("ERROR: No matching distribution found for torchh==9.9")
    assert port_taken(
        "OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 80): "
        "address already in use"
    )
    assert is_transient(EnvBuildError("index down", transient=True)) and not is_transient(
        EnvBuildError("bad")
    )
    assert is_transient(ServerError("port taken", transient=True)) and not is_transient(
        ServerError("cannot load")
    )
    assert is_transient(ConnectionResetError()) and not is_transient(ValueError("bug"))


@pytest.mark.slow
def test_a_port_taken_between_probe_and_bind_costs_a_retry_on_a_new_port(
    prefect_harness, monkeypatch, tmp_path
):
    """The tesseract server (its environment built as the benchmark builds it) finds its port taken by
    another process on the first start, and is started again on a fresh port."""
    from environments import launch
    from tasks.serve import serve, stop
    from tests.support.support import require
    from vlmhyperbench.config import ModelRow

    backend = BACKENDS.get("tesseract")
    row = ModelRow(name="tess", backend="tesseract")
    manager = EnvManager()
    try:
        env = manager.ensure(manager.spec(row, backend, "venv"))
    except EnvBuildError as exc:
        require(False, f"cannot build the tesseract environment: {exc}")
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    real_free_port = launch.free_port
    monkeypatch.setattr(
        launch, "free_port", lambda host="127.0.0.1": next(ports, None) or real_free_port(host)
    )

    @flow(name="serve-retry-test")
    async def serve_once():
        state = await serve(env, row, backend, "tess", tmp_path / "server.log", 120, return_state=True)
        server, _ = await state.result()
        try:
            return state.state_details.task_run_id, server.base_url
        finally:
            await stop(server, "tess")

    try:
        task_run_id, base_url = asyncio.run(serve_once())
    finally:
        squatter.close()
    assert not base_url.endswith(f":{taken}")
    assert asyncio.run(run_count(str(task_run_id))) == 2
    assert "address already in use" in (tmp_path / "server.log").read_text().lower()
