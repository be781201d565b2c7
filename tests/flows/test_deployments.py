"""prefect.yaml against a real `prefect server start` (SQLite, 127.0.0.1): `make deploy`'s script creates the
pools, limits and deployments; a process worker runs the manual deployment; a Docker worker runs a model
in its own job container; the Kubernetes GPU job template passes Prefect's checks.

One server and one deploy for the module (tests/support/stand.py); an HTTP receiver on 127.0.0.1 stands
for the alert webhook. Parts that need Docker skip without it, except under CI, where they fail.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.cli.automations import ALERTS, ZOMBIES
from flows.liveness import HEARTBEAT_TAG
from tests.support.stand import DEAD_AFTER_S, AlertReceiver, deploy, serving
from tests.support.stand import docker_problem as _docker_problem
from tests.support.support import REPO, require

MODEL = "rapidocr-1.4"
K8S_TEMPLATE = REPO / "deployments" / "k8s-gpu-job-template.yaml"
# `vlmhb deploy` builds the nightly's orchestrator image: every test here needs the module's stand and Docker.
pytestmark = [pytest.mark.slow, pytest.mark.docker]


@pytest.fixture(scope="module")
def alerts():
    receiver = AlertReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stand(tmp_path_factory, alerts):
    with serving(tmp_path_factory.mktemp("prefect-stand"), alerts.url) as stand:
        yield stand


@pytest.fixture(scope="module")
def deployed(stand):
    return deploy(stand)


def _run(coro):
    return asyncio.run(coro)


async def _deployments() -> dict:
    from prefect import get_client

    async with get_client() as client:
        found = [await client.read_deployment(d.id) for d in await client.read_deployments()]
        flows = {f.id: f.name for f in await client.read_flows()}
    return {f"{flows[d.flow_id]}/{d.name}": d for d in found}


def _concurrency(deployment) -> tuple[int, str] | None:
    limit = deployment.global_concurrency_limit
    if limit is None:
        return None
    strategy = getattr(limit, "collision_strategy", None) or getattr(
        deployment.concurrency_options, "collision_strategy", None
    )
    return limit.limit, getattr(strategy, "value", strategy)


def _snapshot(deployments: dict) -> dict:
    return {
        name: {
            "parameters": d.parameters,
            "job_variables": d.job_variables,
            "pool": d.work_pool_name,
            "entrypoint": d.entrypoint,
            "pull_steps": d.pull_steps,
            "schema": d.parameter_openapi_schema,
            "concurrency": _concurrency(d),
            "schedules": [(s.schedule.model_dump(mode="json"), s.active) for s in d.schedules],
        }
        for name, d in deployments.items()
    }


async def _wait_final(flow_run_id, timeout_s: float):
    from prefect import get_client

    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while True:
            run = await client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            if time.monotonic() > deadline:
                return run
            await asyncio.sleep(1)


async def _create_run(deployment: str, parameters: dict, job_variables: dict | None = None):
    from prefect import get_client

    deployments = await _deployments()
    async with get_client() as client:
        return await client.create_flow_run_from_deployment(
            deployments[deployment].id, parameters=parameters, job_variables=job_variables
        )


def _manifest(results: Path, before: set[str]) -> dict:
    new = [p for p in results.iterdir() if p.is_dir() and p.name not in before]
    assert len(new) == 1, f"expected one new run folder in {results}, found {new}"
    return json.loads((new[0] / "manifest.json").read_text(encoding="utf-8")) | {"_dir": str(new[0])}


# ------------------------------------------------------------------------------------------- tests


def test_deploy_creates_pools_limits_and_deployments_idempotently(stand, deployed):
    from prefect import get_client

    from environments.job_images import source_digest

    async def state():
        async with get_client() as client:
            pools = {p.name: p.type for p in await client.read_work_pools()}
            limit = await client.read_global_concurrency_limit_by_name(f"gpu:{socket.gethostname()}")
            automations = {a.name: a for a in await client.read_automations()}
        return pools, limit, await _deployments(), automations

    pools, limit, deployments, automations = _run(state())
    assert pools == {"vlmhb-process": "process", "vlmhb-docker": "docker", "vlmhb-models": "docker"}
    assert limit.limit == 1

    # The zombie automation, scoped to the per-model runs by their tag; the alert webhook's
    zombies, alert = automations[ZOMBIES], automations[ALERTS]
    assert zombies.trigger.posture == "Proactive" and zombies.trigger.within.total_seconds() == DEAD_AFTER_S
    assert zombies.trigger.after == {"prefect.flow-run.heartbeat"}
    assert zombies.trigger.model_dump(mode="json")["match_related"] == {
        "prefect.resource.role": "tag",
        "prefect.resource.id": f"prefect.tag.{HEARTBEAT_TAG}",
    }
    assert [a.type for a in zombies.actions] == ["change-flow-run-state"]
    assert zombies.actions[0].state == "CRASHED"
    [webhook] = alert.actions
    assert webhook.type == "call-webhook" and "prefect.flow-run.Failed" in alert.trigger.expect
    assert stand.env["VLMHB_ALERT_WEBHOOK_URL"] not in deployed.stdout + deployed.stderr  # a secret

    manual = deployments["benchmark/manual"]
    assert manual.work_pool_name == "vlmhb-process" and manual.enforce_parameter_schema
    props = manual.parameter_openapi_schema["properties"]
    assert {"config", "models", "datasets", "max_samples"} <= set(props)
    assert props["config"]["default"] == "configs/default"
    assert manual.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
    ]
    models = deployments["evaluate-model-job/models"]
    assert models.work_pool_name == "vlmhb-models" and models.entrypoint == "flows/dispatch.py:model_job"
    assert models.job_variables["network_mode"] == "host"

    summary = deployed.stdout[deployed.stdout.index("deploy: summary") :]
    for name, pool in (("manual", "vlmhb-process"), ("models", "vlmhb-models")):
        assert any(
            line.split()[:2] == [name, "deployed"] and pool in line for line in summary.splitlines()
        ), summary
    docker_problem = _docker_problem()
    if docker_problem is None:
        assert any(line.split()[:2] == ["nightly", "deployed"] for line in summary.splitlines()), summary
        nightly = deployments["benchmark/nightly"]
        assert nightly.work_pool_name == "vlmhb-docker"
        [schedule] = nightly.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
            "0 2 * * *",
            "UTC",
            True,
        )
        assert _concurrency(nightly) == (1, "CANCEL_NEW")
        image = nightly.job_variables["image"]
        assert image.startswith("vlmhyperbench-orchestrator:")
        assert nightly.job_variables["env"]["VLMHB_DISPATCH"] == "pool"
        import docker

        client = docker.from_env()
        assert client.images.get(image).labels["vlmhyperbench.orchestrator"] == image
        client.close()

    before = _snapshot(deployments)
    started = time.perf_counter()
    again = stand.deploy()
    second_s = time.perf_counter() - started
    assert again.returncode == 0, again.stderr[-4000:]
    after = _snapshot(_run(_deployments()))
    first_digest = deployments["evaluate-model-job/models"].job_variables["image"].rsplit(":", 1)[1]
    if source_digest() != first_digest:  # the checkout was edited in between: so were the image tags
        for name in after:
            after[name]["job_variables"].pop("image", None)
            before[name]["job_variables"].pop("image", None)
    assert after == before
    pools_after, limit_after, _, automations_after = _run(state())
    assert (pools_after, limit_after) == (pools, limit)
    assert {n: a.model_dump(mode="json") for n, a in automations_after.items()} == {
        n: a.model_dump(mode="json") for n, a in automations.items()
    }
    assert f"automation {ZOMBIES!r}: exists" in again.stdout, again.stdout[-3000:]
    print(f"deploy: first {stand.deploy_s:.1f} s, second {second_s:.1f} s")
    require(docker_problem is None, f"the nightly deployment needs Docker: {docker_problem}")


def test_deploy_ends_with_what_it_skipped_and_why(stand, deployed):
    """No Docker engine answers (DOCKER_HOST points nowhere): the nightly deployment is skipped, and the
    summary, the last thing printed, says so with the fix; the manual one is deployed all the same."""
    env = {**stand.env, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("vlmhb")), "deploy", "--names", "nightly,manual"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout[done.stdout.index("deploy: summary") :].splitlines()
    [nightly] = [line for line in summary if line.startswith("nightly ")]
    assert (
        "NOT deployed" in nightly and "no Docker engine answers at unix:///nonexistent/docker.sock" in nightly
    )
    assert "vlmhb deploy --names nightly" in " ".join(summary)
    assert any(line.split()[:2] == ["manual", "deployed"] for line in summary), summary


def test_gpu_slot_holds_the_hosts_limit(stand, deployed):
    from prefect import get_client

    from flows.dispatch import gpu_slot

    async def held() -> tuple[int, int]:
        name = f"gpu:{socket.gethostname()}"
        async with get_client() as client:
            async with gpu_slot(1):
                inside = (await client.read_global_concurrency_limit_by_name(name)).active_slots
            after = (await client.read_global_concurrency_limit_by_name(name)).active_slots
        return inside, after

    assert _run(held()) == (1, 0)


def test_process_worker_runs_the_manual_deployment(stand, deployed):
    before = {p.name for p in stand.results.iterdir()}
    run = _run(
        _create_run("benchmark/manual", {"models": [MODEL], "max_samples": 2, "output": str(stand.results)})
    )
    started = time.perf_counter()
    worker = stand.start(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "vlmhb-process", "--run-once"],
        "process-worker.log",
    )
    worker.wait(900)
    run = _run(_wait_final(run.id, 60))
    print(f"manual deployment via the process worker: {time.perf_counter() - started:.1f} s")
    assert run.state.is_completed(), f"{run.state}\n{stand.log('process-worker.log')}"
    manifest = _manifest(stand.results, before)
    assert manifest["status"] == "completed"
    assert {p["model"] for p in manifest["pairs"]} == {MODEL}
    assert all(p["status"] == "completed" for p in manifest["pairs"])
    assert (Path(manifest["_dir"]) / "report.html").is_file()

    # What the UI shows: the DAG's task runs, the subflow, logs and artifacts of this run.
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def ui():
        async with get_client() as client:
            runs = await client.read_flow_runs()
            ids = [r.id for r in runs if r.id == run.id or r.parent_task_run_id is not None]
            tasks = {t.name.split("-")[0] for t in await client.read_task_runs()}
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
        return {r.name for r in runs}, tasks, logs, artifacts

    names, tasks, logs, artifacts = _run(ui())
    assert f"evaluate-{MODEL}" in names
    assert {"plan", "build_env", "serve", "inference", "scoring", "report"} <= tasks
    assert logs and artifacts


def test_docker_worker_runs_a_model_in_its_job_container(stand, deployed):
    require(_docker_problem() is None, f"pool dispatch needs Docker: {_docker_problem()}")
    docker_worker = stand.start(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "vlmhb-models", "--type", "docker"],
        "docker-worker.log",
    )
    try:
        _docker_worker_runs_a_model(stand)
    finally:  # the module's other tests start workers of their own on this pool
        stand.stop(docker_worker)


def _docker_worker_runs_a_model(stand) -> None:
    before = {p.name for p in stand.results.iterdir()}
    run = _run(
        _create_run(
            "benchmark/manual",
            {"models": [MODEL], "max_samples": 2, "output": str(stand.results)},
            {"env": {"VLMHB_DISPATCH": "pool", "VLMHB_RESULTS_DIR": str(stand.results)}},
        )
    )
    started = time.perf_counter()
    worker = stand.start(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "vlmhb-process", "--run-once"],
        "process-worker-pool.log",
    )
    worker.wait(1500)
    run = _run(_wait_final(run.id, 60))
    print(f"manual deployment, model dispatched to the Docker pool: {time.perf_counter() - started:.1f} s")
    assert run.state.is_completed(), (
        f"{run.state}\n{stand.log('process-worker-pool.log')}\n{stand.log('docker-worker.log')}"
    )
    manifest = _manifest(stand.results, before)
    assert manifest["status"] == "completed", json.dumps(manifest["pairs"], indent=1)[-3000:]
    run_dir = Path(manifest["_dir"])
    outcome = json.loads((run_dir / "pairs" / MODEL / "job-outcome.json").read_text(encoding="utf-8"))
    assert outcome["environment"]["job_image"].startswith("vlmhyperbench-job:")
    assert outcome["environment"]["provider"] == "venv" and outcome["environment"]["cached"] is True
    assert list((run_dir / "predictions" / MODEL).glob("*.parquet"))

    from prefect import get_client

    async def child():
        async with get_client() as client:
            deployments = await _deployments()
            runs = await client.read_flow_runs()
        models = deployments["evaluate-model-job/models"].id
        return [
            r
            for r in runs
            if r.deployment_id == models and Path(r.parameters["run_dir"]) == run_dir.resolve()
        ]

    [job] = _run(child())
    assert job.state.is_completed() and job.name == f"job-{MODEL}"
    assert job.job_variables["image"] == outcome["environment"]["job_image"]
    assert job.infrastructure_pid  # the container the Docker worker started


def test_a_benchmark_whose_gate_fails_calls_the_alert_webhook(stand, deployed, alerts, tmp_path):
    """`vlmhb deploy` made the alert automation (VLMHB_ALERT_WEBHOOK_URL: the module's receiver on
    127.0.0.1); a benchmark run against the server whose quality gate fails ends Failed (exit 3), and the
    webhook is called with the run, its state and its message, as JSON."""
    from tests.support.fault_servers import fault_servers, run_cli, simple_dataset

    with fault_servers(echo=("--answer", "echo", "--ttft-ms", "5")) as servers:
        config = tmp_path / "config"
        simple_dataset(config / "d0", 3)
        (config / "datasets.csv").write_text("name;task;format;path\nd0;vqa;vlmhyperbench;d0\n")
        (config / "models.csv").write_text(
            f"name;backend;model;base_url;env\necho;openai;synthetic;{servers['echo'].base_url};none\n"
        )
        (config / "gates.csv").write_text("model;dataset;metric;min;max;no_regression\n*;*;anls;0.99;;\n")
        heard = len(alerts.received)
        args = ("--config", str(config), "--output", str(tmp_path / "results"))
        code, log = run_cli(*args, env=stand.env, log=tmp_path / "run.log")
    assert code == 3, log[-4000:]
    deadline = time.monotonic() + 60
    while len(alerts.received) == heard and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(alerts.received) > heard, f"no alert within 60 s:\n{stand.log('server.log')}"
    [call] = alerts.received[heard:]
    payload = json.loads(call["body"])
    assert call["content_type"] == "application/json"
    assert payload["state"] == "Failed" and "quality gate" in payload["message"], payload
    assert payload["text"].startswith(f"VLMHyperBench: benchmark run {payload['name']} ended Failed: run ")
    assert payload["flow_run"] and alerts.url not in call["body"].decode()


def test_k8s_gpu_job_template_is_a_valid_base_job_template(stand):
    """The template against Prefect's own rules: its variables are a JSON schema, the server accepts it as
    a kubernetes pool's base job template (every placeholder names a variable), and a worker's rendering
    (BaseJobConfiguration.from_template_and_values) yields the GPU job manifest."""
    import jsonschema
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.base import BaseJobConfiguration

    template = yaml.safe_load(K8S_TEMPLATE.read_text(encoding="utf-8"))
    assert set(template) == {"job_configuration", "variables"}
    jsonschema.Draft202012Validator.check_schema(template["variables"])
    defaults = {k: v["default"] for k, v in template["variables"]["properties"].items() if "default" in v}
    jsonschema.validate(defaults, template["variables"])

    async def check():
        async with get_client() as client:
            name = "vlmhb-test-k8s"
            await client.create_work_pool(
                WorkPoolCreate(name=name, type="kubernetes", base_job_template=template)
            )
            pool = await client.read_work_pool(name)
            await client.delete_work_pool(name)
        return pool

    assert _run(check()).base_job_template == template

    class GpuJobConfiguration(BaseJobConfiguration):  # the part of the Kubernetes worker's class used here
        job_manifest: dict
        namespace: str = "default"

    config = _run(GpuJobConfiguration.from_template_and_values(template, {"image": "job:1", "gpus": 2}))
    manifest = config.job_manifest
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "prefect-job" and container["image"] == "job:1"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    pod = manifest["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "vlmhb-results"
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_a_job_image_on_another_interpreter_gets_its_own_orchestrator_venv(tmp_path):
    """A model row's `image` (vLLM's, say) need not have the orchestrator image's Python where that image has
    it: here a base whose only python3.11 lives in /usr/local/bin. Copying the orchestrator's venv (which
    points at /usr/bin/python3.11) would not run; the job image makes its venv with the image's own."""
    require(_docker_problem() is None, f"job images need Docker: {_docker_problem()}")
    import io
    import uuid

    import docker

    from environments.docker import BASE_IMAGE, DockerProvider
    from environments.job_images import _probe, ensure_job_image
    from environments.spec import EnvSpec

    client = docker.from_env()
    run = uuid.uuid4().hex[:8]
    custom = f"vlmhb-test-custom-base:{run}"
    made: list[str] = []
    try:
        client.images.build(
            fileobj=io.BytesIO(
                f"FROM {BASE_IMAGE}\nRUN mv /usr/bin/python3.11 /usr/local/bin/python3.11 "
                "&& rm -f /usr/bin/python3 && ln -s python3.11 /usr/local/bin/python3\n".encode()
            ),
            tag=custom,
            network_mode="none",
            rm=True,
        )
        made.append(custom)
        provider = DockerProvider(tmp_path / "cache")

        def env_on(base: str | None):
            spec = EnvSpec(
                backend="rapidocr",
                provider="docker",
                python="3.11",
                packages=(),
                base_image=base,
                env_vars=(("VLMHB_TEST_RUN", run),),
            )
            env = provider.ensure(spec)
            made.append(env.location)
            return env

        default_env = env_on(None)
        assert _probe(client, default_env.location) == _probe(client, BASE_IMAGE), (
            "an env image on the default base has the orchestrator's interpreter: its venv is copied as it is"
        )
        env = env_on(custom)
        assert _probe(client, env.location).executable == "/usr/local/bin/python3.11"
        venv_spec = EnvSpec(backend="rapidocr", provider="venv", python="3.11", packages=())
        log: list[str] = []
        job = ensure_job_image(env, venv_spec, log)
        made.append(job)
        assert any("its own orchestrator venv" in line for line in log), "".join(log)[-3000:]
        out = (
            client.containers.run(
                job,
                [
                    "python",
                    "-c",
                    "import os, sys, prefect, flows.dispatch; "
                    "print(os.path.realpath(sys.executable), sys.prefix)",
                ],
                network_mode="none",
                remove=True,
            )
            .decode()
            .split()
        )
        assert out == ["/usr/local/bin/python3.11", "/opt/orchestrator"], out
        assert ensure_job_image(env, venv_spec) == job, "built once"
        assert not client.images.list(
            filters={"dangling": True, "label": f"vlmhyperbench.build=job-{venv_spec.key}"}
        ), "the stage with the wheels is not left behind"
    finally:
        for ref in reversed(made):
            try:
                client.images.remove(ref, force=True)
            except docker.errors.APIError:
                pass
        client.close()
