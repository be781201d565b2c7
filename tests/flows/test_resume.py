"""A run is one run: `--resume ID` continues the run it names with the config folder and options it was
started with (its manifest's), and an option given with another value is a configuration error (exit 2)
that names the option, the stored value and the given one, before anything starts. The whole path (a run,
its resume with no option, then a new run beside it) is tests/flows/test_resume_e2e.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.benchmark import main
from tests.support.fault_servers import make_images, write_annotation
from vlmhyperbench.config import load_catalog
from vlmhyperbench.results import Manifest, RunFolder
from vlmhyperbench.results.resume import RunParameters

MODELS = (
    "name;backend;model;base_url;env\n"
    "fast;openai;synthetic;http://127.0.0.1:9/v1;none\n"
    "slow;openai;synthetic;http://127.0.0.1:9/v1;none\n"
)


@pytest.fixture
def stored_run(tmp_path) -> tuple[Path, Path]:
    """A run started as `--models fast --limit 3 --env venv` (its folder as the benchmark writes it before
    the models run): (config folder, results folder)."""
    config = tmp_path / "config"
    names = make_images(config / "qa" / "images", 4)
    write_annotation(config / "qa", [(f"q{i}", f"images/{n}", "q", "a") for i, n in enumerate(names)])
    (config / "models.csv").write_text(MODELS)
    (config / "datasets.csv").write_text("name;task;path\nqa;vqa;qa\n")
    out = tmp_path / "results"
    catalog = load_catalog(config)
    run = RunFolder.create(out, "r1", catalog.files)
    params = RunParameters(str(config.resolve()), ["fast"], None, 3, "venv", "local")
    run.save_manifest(
        Manifest.start(
            "r1",
            config_dir=config.resolve(),
            keys=[],
            parameters=params.as_dict(),
            git_commit=None,
            versions={},
        )
    )
    return config, out


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--models", "fast,slow"], "--models: run r1 was started with fast, this command gives fast,slow"),
        (["--limit", "36"], "--limit: run r1 was started with 3, this command gives 36"),
        (["--max-samples", "36"], "--limit: run r1 was started with 3, this command gives 36"),
        (["--env", "docker"], "--env: run r1 was started with venv, this command gives docker"),
        (
            ["--datasets", "qa"],
            "--datasets: run r1 was started with every planned dataset, this command gives qa",
        ),
    ],
    ids=["models", "limit", "max-samples", "env", "datasets"],
)
def test_an_option_that_differs_from_the_run_is_exit_2_naming_both_values(
    stored_run, options, expected, capsys
):
    _, out = stored_run
    code = main(["--output", str(out), "--resume", "r1", *options])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert "A resumed run continues exactly the run it names" in err and "start a new run" in err
    assert Manifest.load(out / "r1" / "manifest.json").resumed_at == [], "nothing was resumed"


def test_the_stored_value_given_again_is_no_error_but_another_config_is(stored_run, capsys, tmp_path):
    config, out = stored_run
    other = tmp_path / "other"
    other.mkdir()
    code = main(["--output", str(out), "--resume", "r1", "--config", str(other), "--models", "fast"])
    err = capsys.readouterr().err
    assert code == 2 and f"--config: run r1 was started with {config.resolve()}, this command gives" in err
    assert "--models" not in err, "the same --models is no difference"


def test_a_dispatch_setting_that_differs_is_exit_2(stored_run, capsys, monkeypatch):
    _, out = stored_run
    monkeypatch.setenv("VLMHB_DISPATCH", "pool")
    from vlmhb_core.settings import get_settings

    get_settings.cache_clear()
    try:
        code = main(["--output", str(out), "--resume", "r1"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 2 and "VLMHB_DISPATCH: run r1 was started with local, this command gives pool" in err


def test_a_config_file_changed_since_the_start_is_exit_2(stored_run, capsys):
    config, out = stored_run
    (config / "models.csv").write_text(MODELS.replace("slow;", "slower;"))
    code = main(["--output", str(out), "--resume", "r1"])
    err = capsys.readouterr().err
    assert code == 2 and f"{config}/models.csv: changed since run r1 started" in err, err


def test_resume_takes_the_runs_options(stored_run):
    from argparse import Namespace

    from flows.benchmark import resume_options
    from vlmhb_core.settings import Settings

    config, out = stored_run
    args = Namespace(
        output=str(out), resume="r1", config=None, models=None, datasets=None, max_samples=None, env=None
    )
    resumed, dispatch = resume_options(args, Settings())
    assert (resumed.config, resumed.models, resumed.max_samples, resumed.env, dispatch) == (
        str(config.resolve()),
        ["fast"],
        3,
        "venv",
        "local",
    )
