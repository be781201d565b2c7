"""EnvManager's venv provider: content-hashed specs, atomic builds under a lock, failures that leave
nothing, freeze, uv or pip, and `python -m environments build|list|prune`. Real venvs, real pip/uv."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from environments.backends import BACKENDS
from environments.spec import EnvSpec, spec_for
from environments.venv import MARKER, VenvProvider
from tests.support.support import REPO, require
from vlmhb_core.errors import EnvBuildError
from vlmhyperbench.config import ModelRow

SMALL = EnvSpec(
    backend="tesseract",
    provider="venv",
    python=f"{sys.version_info.major}.{sys.version_info.minor}",
    packages=("six",),
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    provider = VenvProvider(tmp_path_factory.mktemp("cache"), installer="pip")
    return provider, provider.ensure(SMALL)


def test_a_spec_hash_changes_exactly_when_the_spec_does():
    row = ModelRow(name="a", backend="rapidocr", packages=("rapidocr-onnxruntime==1.4.4",))
    same = ModelRow(
        name="b",
        backend="rapidocr",
        packages=("rapidocr-onnxruntime==1.4.4",),
        concurrency=3,
        args=("--engine-arg", "x=1"),
    )
    assert (
        spec_for(row, BACKENDS.get(row.backend), "venv").key
        == spec_for(same, BACKENDS.get(same.backend), "venv").key
    ), "name, args and concurrency do not change the env"
    other = ModelRow(name="a", backend="rapidocr", packages=("rapidocr-onnxruntime==1.3.24",))
    assert (
        spec_for(row, BACKENDS.get(row.backend), "venv").key
        != spec_for(other, BACKENDS.get(other.backend), "venv").key
    )
    assert (
        spec_for(row, BACKENDS.get(row.backend), "venv").key
        != spec_for(row, BACKENDS.get(row.backend), "docker").key
    )
    spec = spec_for(row, BACKENDS.get(row.backend), "venv")
    assert spec.server_digest, "the project's server code is part of the hash of own-server backends"
    assert "rapidocr-onnxruntime==1.4.4" in spec.packages and "aiohttp>=3.9" in spec.packages


@pytest.mark.parametrize(
    "packages, expected",
    [
        (
            ("torch==2.13.0", "transformers", "tokenizers"),
            ("torch==2.13.0", "transformers[serving]", "tokenizers"),
        ),
        (("torch", "transformers>=4.50"), ("torch", "transformers[serving]>=4.50")),
        (("transformers[serving,torch]==5.25.0",), ("transformers[serving,torch]==5.25.0",)),
        (("transformers @ file:///wheels/t.whl",), ("transformers @ file:///wheels/t.whl",)),
    ],
)
def test_a_rows_package_replaces_the_default_and_keeps_its_extras(packages, expected):
    """A transformers row written for the retired engine names `transformers`: it still gets serve's extra
    (the default torch stays unless the row names its own; a direct reference is taken as written)."""
    spec = spec_for(ModelRow(name="m", backend="transformers", model="x", packages=packages),
                    BACKENDS.get("transformers"), "venv")  # fmt: skip
    assert spec.packages[-len(expected) :] == expected and spec.server_digest is None
    assert set(spec.packages) - set(expected) <= {"torch", "pillow>=10"} and "pillow>=10" in spec.packages
    assert not any(p.startswith("rapidocr-onnxruntime>=") for p in spec.packages), (
        "the row's pin replaces the default"
    )
    assert (
        spec_for(
            ModelRow(name="api", backend="openai", base_url="http://127.0.0.1:1/v1"),
            BACKENDS.get("openai"),
            "venv",
        ).provider
        == "none"
    )


def test_rapidocr_3_by_default_and_1x_takes_its_place_not_a_seat_beside_it():
    def packages(*row: str) -> tuple[str, ...]:
        model = ModelRow(name="ocr", backend="rapidocr", packages=row)
        return spec_for(model, BACKENDS.get("rapidocr"), "venv").packages

    assert packages() == ("aiohttp>=3.9", "pillow>=10", "rapidocr>=3,<4", "onnxruntime>=1.18")
    assert packages("rapidocr==3.10.0") == (
        "aiohttp>=3.9",
        "pillow>=10",
        "onnxruntime>=1.18",
        "rapidocr==3.10.0",
    )
    assert packages("rapidocr-onnxruntime==1.4.4") == (
        "aiohttp>=3.9",
        "pillow>=10",
        "rapidocr-onnxruntime==1.4.4",
    )
    assert packages("rapidocr_onnxruntime==1.3.24", "numpy<2") == (
        "aiohttp>=3.9",
        "pillow>=10",
        "rapidocr_onnxruntime==1.3.24",
        "numpy<2",
    )


@pytest.mark.slow
def test_a_cold_build_is_complete_and_a_second_ensure_is_a_fast_cache_hit(built):
    provider, env = built
    assert not env.cached and env.build_s > 0
    folder = Path(env.location)
    assert (folder / MARKER).is_file() and any(line.startswith("six==") for line in env.freeze)
    assert (folder / "freeze.txt").read_text().strip()
    assert not list(folder.parent.glob(".build-*")), "the temporary build folder was renamed into place"
    out = subprocess.run(
        [env.python, "-c", "import six, sys; print(sys.prefix)"], capture_output=True, text=True
    )
    assert out.returncode == 0 and Path(out.stdout.strip()) == folder, (
        "the renamed venv works in its final place"
    )
    started = time.perf_counter()
    again = provider.ensure(SMALL)
    took = time.perf_counter() - started
    assert again.cached and again.location == env.location and took < 1.0, took
    assert [i.key for i in provider.list()] == [SMALL.key]


@pytest.mark.slow
def test_a_failed_build_leaves_nothing_and_reports_pips_tail(tmp_path):
    provider = VenvProvider(tmp_path, installer="pip")
    bad = SMALL.model_copy(update={"packages": ("vlmhb-no-such-package==9.9.9",)})
    with pytest.raises(EnvBuildError) as info:
        provider.ensure(bad)
    assert "vlmhb-no-such-package" in str(info.value) and "No matching distribution" in str(info.value)
    assert not (tmp_path / "venv" / bad.key).exists()
    assert not list((tmp_path / "venv").glob(".build-*"))
    assert provider.list() == []


@pytest.mark.slow
def test_two_runs_building_one_spec_wait_for_each_other(tmp_path):
    provider = VenvProvider(tmp_path, installer="pip")
    results, errors = [], []

    def build():
        try:
            results.append(VenvProvider(tmp_path, installer="pip").ensure(SMALL))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2
    assert sorted(r.cached for r in results) == [False, True], "one built, the other waited and reused it"
    assert len(provider.list()) == 1


@pytest.mark.slow
def test_uv_builds_the_same_environment(tmp_path):
    uv = Path(sys.executable).parent / "uv"
    require(uv.is_file(), "uv is not installed in this venv (it is in the test extras)")
    env = VenvProvider(tmp_path, installer="uv").ensure(SMALL)
    assert any(line.startswith("six==") for line in env.freeze)
    assert subprocess.run([env.python, "-c", "import six"]).returncode == 0


@pytest.mark.slow
def test_the_environments_command_lists_and_prunes(built, tmp_path):
    provider, env = built
    cache = provider.root.parent
    run_env = {**os.environ, "VLMHB_CACHE_DIR": str(cache)}
    listed = subprocess.run(
        [sys.executable, "-m", "environments", "list", "--env", "venv"],
        cwd=REPO,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0 and SMALL.key in listed.stdout.replace("\n", "")
    pruned = subprocess.run(
        # the default config does not use SMALL: it goes (a prune must name what to keep, or an age)
        [
            sys.executable,
            "-m",
            "environments",
            "prune",
            "--config",
            "configs/default",
            "--env",
            "venv",
            "--dry-run",
        ],
        cwd=REPO,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pruned.returncode == 0 and f"would remove venv {SMALL.key}" in pruned.stdout
    assert Path(env.location).exists(), "a dry run removes nothing"


def test_a_models_csv_row_is_what_environments_reads():
    """environments/ types its rows as ServedModel (it sits below config/); ModelRow must satisfy it."""
    from environments.served_model import ServedModel

    row = ModelRow(name="m", backend="openai", model="x", base_url="http://127.0.0.1:1/v1")
    assert isinstance(row, ServedModel)
