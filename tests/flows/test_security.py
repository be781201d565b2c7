"""Security: keys stay secret, servers listen on loopback, containers get no privileges and only the
mounts they need, no config value reaches a shell. (The planted-key search over every output of a whole
run, and the escaping of model output in the reports, are in test_faults.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from environments.backends import BACKENDS
from tests.support.support import REPO, require
from vlmhyperbench.config import ModelRow

KEY = "sk-vlmhb-PLANTED-security-0042"


def test_the_api_key_is_a_secret_everywhere_it_is_held(monkeypatch):
    from tasks.inference import endpoint_for
    from vlmhyperbench.config import DatasetRow, Pair

    monkeypatch.setenv("VLMHB_SEC_KEY", KEY)
    row = ModelRow(
        name="api", backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key_env="VLMHB_SEC_KEY"
    )
    key = row.api_key()
    assert key.get_secret_value() == KEY and KEY not in repr(key) and KEY not in str(key)
    assert KEY not in repr(row) and KEY not in row.model_dump_json()  # the row holds the NAME only
    pair = Pair(
        model=row,
        dataset=DatasetRow(name="d", task="vqa", path=Path(".")),
        max_samples=None,
        concurrency=1,
        filter_doc_class=(),
        filter_question_type=(),
        perturbation=None,
        metrics=(),
        aggregators=(),
        backend=BACKENDS.get("openai"),
    )
    endpoint = endpoint_for(pair, "http://127.0.0.1:9")
    assert KEY not in repr(endpoint) and KEY not in endpoint.model_dump_json()
    assert endpoint.http_headers()["Authorization"] == f"Bearer {KEY}"  # only where it is sent


def test_model_servers_do_not_inherit_credentials(monkeypatch):
    from environments.environment import Environment
    from environments.launch import server_environment
    from environments.spec import EnvSpec

    for name in ("VLMHB_SEC_KEY", "OPENAI_API_KEY", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD"):
        monkeypatch.setenv(name, KEY)
    env = Environment(
        spec=EnvSpec(backend="rapidocr", provider="venv", python="3.11", packages=()),
        provider="venv",
        location="/nowhere",
    )
    assert KEY not in server_environment(env, {}).values()


@pytest.mark.parametrize("backend", ["vllm", "sglang", "transformers", "rapidocr", "tesseract"])
def test_every_served_backend_listens_on_loopback_and_gets_config_values_as_argv(backend):
    from environments.backends import BACKENDS
    from environments.launch import launch_for

    hostile = '--x "$(touch /tmp/vlmhb-pwned)" ; rm -rf / `id` | cat'
    row = ModelRow(
        name="m", backend=backend, model="some/model; reboot", args=tuple(__import__("shlex").split(hostile))
    )
    argv = BACKENDS.get(backend).argv(launch_for(row, BACKENDS.get(backend), 8123))
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    host = argv[argv.index("--host") + 1]
    assert host == "127.0.0.1"
    # each value is one argv element, exactly as written: nothing for a shell to interpret
    assert (
        "$(touch /tmp/vlmhb-pwned)" in argv
        and ";" in argv
        and "`id`" in argv
        and "some/model; reboot" in argv
    )


def test_no_code_path_runs_a_shell():
    pattern = re.compile(
        r"shell\s*=\s*True|os\.system\(|os\.popen\(|create_subprocess_shell|commands\.getoutput"
    )
    offenders = []
    for folder in ("flows", "tasks", "vlmhyperbench", "environments", "metrics", "deployments"):
        for path in (REPO / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_a_hostile_value_in_a_served_models_args_is_never_executed(tmp_path):
    """A real server process started the way the benchmark starts one: the args arrive verbatim."""
    import sys

    from environments.process import ServerProcess

    marker = tmp_path / "pwned"
    hostile = [f"$(touch {marker})", f"; touch {marker}", f"`touch {marker}`"]
    server = ServerProcess(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *hostile],
        port=0,
        log_path=tmp_path / "log.txt",
    )
    server.proc.wait(30)
    server.stop()
    import json

    assert json.loads((tmp_path / "log.txt").read_text().strip().splitlines()[-1]) == hostile
    assert not marker.exists()


# ---------------------------------------------------------------- containers

BASE_IMAGE = "vlmhyperbench-base:bookworm-py3.11"


@pytest.fixture(scope="module")
def container(tmp_path_factory):
    """A container started through the benchmark's own path (serving._start_container) from the local base
    image, for a model given as a local folder."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.images.get(BASE_IMAGE)
    except Exception as exc:  # noqa: BLE001 - no engine, no image
        require(False, f"Docker engine with {BASE_IMAGE} (deployments/build_base_image.sh): {exc}")
    from environments.environment import Environment
    from environments.launch import _start_container
    from environments.spec import EnvSpec

    tmp = tmp_path_factory.mktemp("sec")
    model_dir = tmp / "model"
    model_dir.mkdir()
    env = Environment(
        spec=EnvSpec(backend="rapidocr", provider="docker", python="3.11", packages=()),
        provider="docker",
        location=BASE_IMAGE,
        python="python3",
    )
    row = ModelRow(name="sec", backend="rapidocr", model=str(model_dir))
    server = _start_container(
        env,
        ["-c", "import time; time.sleep(60)"],
        row,
        BACKENDS.get("rapidocr"),
        8124,
        tmp / "run" / "logs" / "s.log",
        None,
    )
    try:
        yield client.containers.get(server.id).attrs, model_dir
    finally:
        server.stop(timeout=1)
        client.close()


@pytest.mark.docker
def test_containers_get_no_privileges_and_only_the_model_mount(container):
    attrs, model_dir = container
    host = attrs["HostConfig"]
    assert host["Privileged"] is False and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in (host.get("SecurityOpt") or [])
    assert not host.get("CapAdd") and not host.get("Devices")
    real = str(model_dir.resolve())
    assert host["Binds"] == [f"{real}:{real}:ro"], "the model folder only, read-only"
    assert not any(m.get("Source") == "/var/run/docker.sock" for m in attrs.get("Mounts", []))


@pytest.mark.docker
def test_containers_have_resource_limits_by_default(container):
    attrs, _ = container
    host = attrs["HostConfig"]
    assert host["Memory"] > 0 and (host.get("PidsLimit") or 0) > 0
