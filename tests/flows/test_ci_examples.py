"""The CI examples in deployments/ci/: valid YAML, the structure each CI system needs, shell that parses,
and a config that the benchmark accepts once the job has written the candidate's models.csv."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.support.support import REPO

CI = REPO / "deployments" / "ci"
BENCHMARK = "vlmhb run --config deployments/ci/config"
KEPT = ["report.html", "gates.json", "leaderboard.md", "summary.csv", "manifest.json"]


def load(name: str) -> dict:
    return yaml.safe_load((CI / name).read_text(encoding="utf-8"))


def bash_syntax_ok(script: str) -> None:
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def one_line(text: str) -> str:
    return " ".join(text.replace("\\\n", " ").split())


def test_github_actions_workflow():
    flow = load("github-actions.yml")
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers
    (job,) = flow["jobs"].values()
    steps = job["steps"]
    for step in steps:
        if "run" in step:
            bash_syntax_ok(step["run"])
    (bench,) = [s for s in steps if BENCHMARK in one_line(s.get("run", ""))]
    assert "set +e" in bench["run"] and "code=$?" in bench["run"] and 'exit "$code"' in bench["run"]
    assert "3)" in bench["run"] and not bench.get("continue-on-error")
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert [p.strip() for p in upload["with"]["path"].split()] == [f"benchmark-report/{f}" for f in KEPT]
    assert steps.index(upload) > steps.index(bench)
    assert (
        "CANDIDATE_API_KEY" in job["env"] and "secrets.CANDIDATE_API_KEY" in job["env"]["CANDIDATE_API_KEY"]
    )


def test_gitlab_ci_job():
    pipeline = load(".gitlab-ci.yml")
    assert pipeline["stages"] == ["benchmark"]
    job = pipeline["benchmark-candidate"]
    assert job["stage"] == "benchmark" and job["image"].startswith("python:3.11")
    script = "\n".join(job["script"])
    bash_syntax_ok(script)
    assert BENCHMARK in one_line(script)
    assert "code=$?" in script and 'exit "$code"' in script and "allow_failure" not in job
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == [f"benchmark-report/{f}" for f in KEPT]
    assert any(c["paths"] == ["results/"] for c in job["cache"])


def models_csv_command(name: str) -> str:
    if name == "github-actions.yml":
        (job,) = load(name)["jobs"].values()
        return next(
            s["run"] for s in job["steps"] if "models.csv" in s.get("run", "") and "printf" in s["run"]
        )
    return next(line for line in load(name)["benchmark-candidate"]["script"] if line.startswith("printf"))


@pytest.mark.parametrize("name", ["github-actions.yml", ".gitlab-ci.yml"])
def test_the_jobs_config_is_valid_once_models_csv_is_written(name, tmp_path):
    from vlmhyperbench.config import expand_plan, load_catalog

    shutil.copytree(CI / "config", tmp_path / "deployments" / "ci" / "config")
    (tmp_path / "configs").symlink_to(REPO / "configs")  # the datasets' relative paths lead there
    env = {**os.environ, "CANDIDATE_MODEL": "org/vlm-7b", "CANDIDATE_BASE_URL": "https://llm.example.com/v1"}
    done = subprocess.run(
        ["bash", "-c", models_csv_command(name)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    catalog = load_catalog(tmp_path / "deployments" / "ci" / "config")
    model = catalog.models["candidate"]
    assert (model.backend, model.model, model.base_url, model.api_key_env) == (
        "openai",
        "org/vlm-7b",
        "https://llm.example.com/v1",
        "CANDIDATE_API_KEY",
    )
    assert {(g.dataset, g.metric) for g in catalog.gates} == {("docs-vqa", "anls"), ("docs-ocr", "cer")}
    assert len(expand_plan(catalog)) == 2
