"""Where a pool job says it runs, and what it is given to tell the benchmark it lives: the GPU host whose
slot it holds (the worker's name reaches it), its heartbeat, and its GPUs; the settings that bound the
wait for a dead host are checked before anything runs."""

from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError

from flows.dispatch import gpu_host, job_variables
from vlmhb_core.settings import Settings
from vlmhyperbench.config import load_catalog


def test_a_job_holds_the_slot_of_the_host_its_worker_is_named_after(monkeypatch):
    monkeypatch.delenv("VLMHB_GPU_HOST", raising=False)
    monkeypatch.delenv("PREFECT__WORKER_NAME", raising=False)
    assert gpu_host() == socket.gethostname()
    monkeypatch.setenv("PREFECT__WORKER_NAME", "gpu-a.cluster.internal")  # `vlmhb worker --host ...`
    assert gpu_host() == "gpu-a.cluster.internal"
    monkeypatch.setenv("PREFECT__WORKER_NAME", "DockerWorker 5b1e2f0c-1d2e")  # a default name: no host
    assert gpu_host() == socket.gethostname()
    monkeypatch.setenv("PREFECT__WORKER_NAME", "gpu-a")
    monkeypatch.setenv("VLMHB_GPU_HOST", "node-7")  # the job's own environment says it (a pool template)
    assert gpu_host() == "node-7"


def test_a_job_is_given_its_heartbeat_and_its_gpus_as_the_settings_say(write_config, monkeypatch):
    root = write_config(
        {
            "models.csv": "name;backend;model;base_url;env;gpus\nbig;openai;x;http://127.0.0.1:9/v1;none;2\n",
            "datasets.csv": "name;task;format;path\n",
        }
    )
    catalog = load_catalog(root, check_paths=False)
    monkeypatch.setenv("VLMHB_GPU_HOST", "here")
    monkeypatch.setenv("VLMHB_HEARTBEAT_S", "45")
    monkeypatch.setenv("VLMHB_DEAD_AFTER_S", "180")
    variables = job_variables(catalog, str(root / "results" / "run"), 2)
    assert variables["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "45"
    assert "VLMHB_GPU_HOST" not in variables["env"], "this host's name is not the job's"
    devices = variables["container_create_kwargs"]["device_requests"]
    assert devices == [{"count": 2, "capabilities": [["gpu"]]}]
    monkeypatch.setenv("VLMHB_GPU_DEVICES", "none")  # the default runtime exposes them, or a stand-in
    assert "device_requests" not in job_variables(catalog, str(root / "run"), 2)["container_create_kwargs"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VLMHB_HEARTBEAT_S": "10"}, "heartbeat_s"),
        ({"VLMHB_HEARTBEAT_S": "60", "VLMHB_DEAD_AFTER_S": "90"}, "at least two heartbeats"),
        ({"VLMHB_GPU_LEASE_S": "30"}, "gpu_lease_s"),
    ],
)
def test_bounds_that_would_take_a_live_run_for_dead_are_refused(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
