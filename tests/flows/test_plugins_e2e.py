"""End to end: the example plugin, installed by pip into a fresh location, then used from the CSV files by
a real benchmark run (real Prefect, the real rapidocr server), with a quality gate that fails.

The plugin goes into a new `pip install --target` folder that only the benchmark's subprocess sees (on its
PYTHONPATH, where importlib.metadata finds its entry points like any installed package's). A whole fresh
venv would have to install the project and Prefect again (minutes on a loaded machine); this keeps the
project's own environment, and every other test, free of the plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.support.plugins import install_dist
from tests.support.support import DEFAULT_CONFIG, REPO

pytestmark = pytest.mark.slow

PLUGIN = REPO / "examples" / "plugin-example"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The example plugin, pip-installed into a fresh folder, beside a broken plugin package."""
    tmp = tmp_path_factory.mktemp("plugin")
    source = tmp / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    install_dist(
        site,
        "vlmhb-broken",
        {"vlmhyperbench.metrics": {"broken_metric": "vlmhb_broken:fn"}},
        {"vlmhb_broken": "import a_module_that_is_not_installed\n"},
    )
    return site


def run_cli(args: list[str], site: Path, home: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    }
    return subprocess.run(
        [sys.executable, "-m", "flows.benchmark", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_list_shows_the_plugin_names_with_their_package(plugin_site, tmp_path):
    from importlib.metadata import PackageNotFoundError, version

    with pytest.raises(PackageNotFoundError):  # the project's own environment never saw it
        version("vlmhyperbench-plugin-example")
    done = run_cli(["--list"], plugin_site, tmp_path / "prefect-home", timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for name in ("word_f1", "textfolder"):
        (line,) = [x for x in lines if x.split()[:1] == [name]]
        assert "vlmhyperbench-plugin-example 0.1.0" in line and " ok " in line
    (broken,) = [x for x in lines if x.split()[:1] == ["broken_metric"]]
    assert "vlmhb-broken 0.1" in broken and "error: ModuleNotFoundError" in broken


def scans_folder(root: Path) -> None:
    """Three receipts and forms of the default dataset as a textfolder dataset (image + .txt)."""
    from vlmhyperbench.datasets import read_dataset

    samples = {s.id: s for s in read_dataset("vlmhyperbench", DEFAULT_CONFIG / "data" / "ocr.csv")}
    root.mkdir(parents=True)
    for sample_id in ("receipt_01", "form_01", "invoice_01"):
        image = samples[sample_id].images[0].path
        shutil.copy(image, root / image.name)
        (root / image.name).with_suffix(".txt").write_text(samples[sample_id].references[0], encoding="utf-8")


def test_benchmark_uses_the_plugins_format_and_metric_and_a_failed_gate_sets_exit_code_3(
    plugin_site, tmp_path, write_config
):
    config = write_config(
        {
            "models.csv": "name;backend;packages;concurrency\n"
            "rapidocr-1.4;rapidocr;rapidocr-onnxruntime==1.4.4;2\n",
            "datasets.csv": "name;task;format;path;metrics\n"
            "scans;ocr;textfolder;scans;word_f1 cer\n"
            "scans-broken;ocr;textfolder;scans;cer broken_metric\n",
            "gates.csv": "model;dataset;metric;min;max\n"
            "*;scans;word_f1;1.01;\n"  # above any word_f1: fails
            "*;scans;cer;;5\n",  # passes
        }
    )
    scans_folder(config / "scans")
    out = tmp_path / "results"
    done = run_cli(
        ["--config", str(config), "--output", str(out), "--max-samples", "2"],
        plugin_site,
        tmp_path / "prefect-home",
    )
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    # the broken plugin is reported on its row before the run, and costs only its own pair
    assert (
        f"warning: {config / 'datasets.csv'}:3: column 'metrics': plugin metric 'broken_metric' from package "
        "'vlmhb-broken 0.1'"
    ) in done.stderr
    assert "quality gates failed (1): gates.csv:2: rapidocr-1.4/scans word_f1 >= 1.01" in done.stdout
    assert "FAILED" in done.stdout and "is below the minimum 1.01" in done.stdout

    (run,) = [p for p in out.iterdir() if p.is_dir()]
    manifest = json.loads((run / "manifest.json").read_text())
    status = {p["dataset"]: p for p in manifest["pairs"]}
    assert status["scans"]["status"] == "completed"
    assert status["scans-broken"]["status"] == "failed"
    assert "entry point 'broken_metric = vlmhb_broken:fn'" in status["scans-broken"]["error"]
    summary = pl.read_parquet(run / "summary.parquet").filter(pl.col("aggregator") == "general")
    word_f1 = summary.filter(pl.col("metric") == "word_f1")
    assert word_f1.height == 1 and 0.5 < word_f1["value"][0] <= 1.0 and word_f1["n"][0] == 2
    gates = json.loads((run / "gates.json").read_text())
    assert gates["status"] == "failed" and gates["counts"] == {"passed": 1, "failed": 1, "unchecked": 0}
    failed = [c for c in gates["checks"] if c["status"] == "failed"]
    assert [(c["gate"], c["metric"], c["limit"]) for c in failed] == [("gates.csv:2", "word_f1", ">= 1.01")]
    assert (run / "config" / "gates.csv").is_file() and (run / "report.html").is_file()
