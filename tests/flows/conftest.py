"""The session's Prefect server (vlmhyperbench/testing/stand.py) and `vlmhb deploy` against it, shared by the
tests of deployments, workers and hosts that die: one server, one deploy and one orchestrator image (the
job image of `openai` models) for the whole session."""

from __future__ import annotations

import time

import pytest

from tests.support.stand import AlertReceiver, Stand


@pytest.fixture(scope="session")
def alerts():
    receiver = AlertReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def stand_server(tmp_path_factory, alerts):
    stand = Stand(tmp_path_factory.mktemp("prefect-stand"), alerts.url)
    try:
        try:
            stand.start_server()
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield stand
    finally:
        stand.close()


@pytest.fixture
def stand(stand_server):
    """The session's stand, this process's Prefect client pointed at it for the test alone (the other
    tests keep their own API)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: stand_server.url}):
        try:
            yield stand_server
        finally:
            # The events worker is one per process whatever the API's URL: stopped here, the next test
            # gets one for its own API instead of this stand's (as Prefect's own test harness does on exit).
            from prefect.events.worker import EventsWorker

            EventsWorker.drain_all()


@pytest.fixture(scope="session")
def deployed(stand_server):
    started = time.perf_counter()
    proc = stand_server.deploy()
    stand_server.deploy_s = time.perf_counter() - started
    assert proc.returncode == 0, f"deploy failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return proc
