"""`vlmhb`, the console script the install puts beside the interpreter, run as a user runs it: in a
subprocess, with real subcommands. Its subcommands are the `python -m` commands' own parsers, so the exit
codes and messages are theirs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import COMMANDS
from tests.support.support import REPO, require

VLMHB = Path(sys.executable).with_name("vlmhb")


def vlmhb(*args: str, cwd: Path = REPO, env: dict | None = None, timeout: int = 120):
    return subprocess.run(
        [str(VLMHB), *args],
        cwd=cwd,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def python_m(*args: str, timeout: int = 120):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_the_install_puts_vlmhb_beside_the_interpreter_and_its_help_imports_no_command():
    assert VLMHB.is_file(), f"{VLMHB} is missing: `pip install -e .` installs the console script"
    done = vlmhb("--help")
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert f"  {command.name} " in done.stdout, command.name
    assert "vlmhb run --limit 5" in done.stdout
    probe = (
        "import sys, flows.cli\n"
        "try:\n    flows.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'polars', 'docker', 'pydantic'}))"
    )
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert heavy.stdout.strip().splitlines()[-1] == "[]", heavy.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_commands_help_shows_an_example_under_its_vlmhb_name(command):
    text = command.parser().format_help()
    assert text.startswith(f"usage: vlmhb {command.name}"), text[:200]
    assert "examples:" in text and f"\n  vlmhb {command.name} " in text, text


def test_usage_errors_exit_2_with_the_usage_as_the_python_m_forms_do():
    done = vlmhb("run", "--no-such-option")
    assert done.returncode == 2 and "usage: vlmhb run" in done.stderr, done.stderr
    assert "unrecognized arguments: --no-such-option" in done.stderr
    same = python_m("flows.benchmark", "--no-such-option")
    assert same.returncode == 2 and "usage: python -m flows.benchmark" in same.stderr
    for args in (("no-such-command",), ()):
        done = vlmhb(*args)
        assert done.returncode == 2 and "usage: vlmhb" in done.stderr, (args, done.stderr)
    from flows.benchmark import parse_args

    assert parse_args(["--limit", "3"]).max_samples == 3 == parse_args(["--max-samples", "3"]).max_samples
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--limit", "0"], prog="vlmhb run")
    assert exit_.value.code == 2


def test_a_bad_config_is_exit_2_with_file_and_line_under_both_names(tmp_path):
    config = tmp_path / "bad"
    shutil.copytree(REPO / "configs" / "default", config, ignore=shutil.ignore_patterns("data", "*.py"))
    (config / "models.csv").write_text("name;backend\nm;no-such-backend\n")
    for done in (
        vlmhb("run", "--config", str(config), "--limit", "2"),
        python_m("flows.benchmark", "--config", str(config), "--max-samples", "2"),
    ):
        assert done.returncode == 2, done.stderr
        assert (
            f"{config / 'models.csv'}:2: column 'backend': unknown backend 'no-such-backend'" in done.stderr
        )


def test_list_env_list_and_bundle_exit_as_their_modules():
    listed = vlmhb("list")
    assert listed.returncode == 0 and "backends" in listed.stdout and "rapidocr" in listed.stdout
    envs = vlmhb("env", "list", "--env", "venv")
    assert envs.returncode == 0 and "cached model environments" in envs.stdout, envs.stderr
    for done in (
        vlmhb("bundle", "verify", "/no/such/bundle"),
        python_m("flows.cli.bundle", "verify", "/no/such"),
    ):
        assert done.returncode == 1 and done.stderr.startswith("error: "), done.stderr


def test_bash_completion_completes_commands_options_and_choices(tmp_path):
    require(shutil.which("bash") is not None, "bash")
    script = vlmhb("completion", "bash")
    assert script.returncode == 0, script.stderr
    (tmp_path / "vlmhb.bash").write_text(script.stdout)
    probe = r"""
source "$1"
complete() { :; }
ask() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        COMPREPLY=(); _shtab_vlmhb; echo "${COMPREPLY[*]}"; }
ask vlmhb r
ask vlmhb run --li
ask vlmhb run --env ''
ask vlmhb env ''
ask vlmhb bundle export --s
"""
    done = subprocess.run(
        ["bash", "-c", probe, "probe", str(tmp_path / "vlmhb.bash")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "run rescore",
        "--limit --list",
        "venv docker",
        "build list prune",
        "--split",
    ]
    zsh = vlmhb("completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef vlmhb"), zsh.stdout[:100]
