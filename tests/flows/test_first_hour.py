"""The first hour, as a new user meets it: the command line in a pipe (as a CI log is), files with a wrong
field and a missing image (exit 2 in seconds, before anything starts), then an image that cannot be
decoded, real endpoints on 127.0.0.1 that answer 401, 404 or serve another model, a variable that is not
set, a dataset the plan leaves out, a second run, and the history of both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import polars as pl
import pytest

from tests.support.fault_servers import (
    cli_env,
    fault_servers,
    make_images,
    run_cli,
    simple_dataset,
)
from tests.support.support import REPO

pytestmark = pytest.mark.slow

KEY = "first-hour-key"


def write_config(root, servers) -> None:
    qa = simple_dataset(root / "qa", 6)
    (qa.parent / "images" / "q_003.png").unlink()  # one sample's image is missing
    images = make_images(root / "lines" / "images", 2)
    (root / "lines" / "typo.jsonl").write_text(  # the transcription under `text`, not `answer`
        "".join(
            json.dumps({"id": f"t{i}", "image": f"images/{n}", "text": "INVOICE"}) + "\n"
            for i, n in enumerate(images)
        )
    )
    (root / "lines" / "extra.jsonl").write_text(  # an extra field the format does not read
        "".join(
            json.dumps({"id": f"e{i}", "image": f"images/{n}", "answer": "INVOICE", "comment": "checked"})
            + "\n"
            for i, n in enumerate(images)
        )
    )
    (root / "datasets.csv").write_text(
        "name;task;format;path\n"
        "qa;vqa;vlmhyperbench;qa\n"
        "typo;ocr;jsonl;lines/typo.jsonl\n"
        "extra;ocr;jsonl;lines/extra.jsonl\n"
        "unplanned;ocr;jsonl;lines/extra.jsonl\n"
    )
    good, keyed = servers["good"].base_url, servers["keyed"].base_url
    root_url = good.removesuffix("/v1")
    (root / "models.csv").write_text(
        "name;backend;model;base_url;api_key_env;env;concurrency\n"
        f"good;openai;synthetic;{good};;none;2\n"
        f"keyed;openai;synthetic;{keyed};FIRST_HOUR_KEY;none;2\n"
        f"wrongkey;openai;synthetic;{keyed};FIRST_HOUR_WRONG_KEY;none;2\n"
        f"nopath;openai;synthetic;{root_url}/gateway/openai;;none;2\n"
        f"othermodel;openai;gpt-9;{good};;none;2\n"
    )
    (root / "plan.csv").write_text("model;dataset\n*;qa\ngood;typo\ngood;extra\n")


def fix_data(root) -> None:
    """The user's fixes: the transcription under `answer`, and q_003.png back (as bytes that are no image)."""
    typo = root / "lines" / "typo.jsonl"
    typo.write_text(typo.read_text().replace('"text":', '"answer":'))
    (root / "qa" / "images" / "q_003.png").write_bytes(b"not a png, but not empty either")


def test_the_first_hour(tmp_path):
    root = tmp_path / "config"
    out = tmp_path / "results"
    with fault_servers(good=("--answer", "echo"), keyed=("--answer", "echo", "--api-key", KEY)) as servers:
        write_config(root, servers)
        env = cli_env(
            tmp_path, FIRST_HOUR_KEY=KEY, FIRST_HOUR_WRONG_KEY="not-the-key", PREFECT_LOGGING_LEVEL="INFO"
        )
        env.pop("PREFECT_API_URL", None)
        env.pop("PREFECT_SERVER_ANALYTICS_ENABLED", None)  # the user's shell: telemetry is ours to turn off
        env.pop("DO_NOT_TRACK", None)

        # an api_key_env that names a variable that is not set: a configuration error, before anything runs
        unset = {k: v for k, v in env.items() if k != "FIRST_HOUR_KEY"}
        code, output = run_cli("--config", str(root), "--output", str(out), env=unset, log=tmp_path / "0.log")
        assert code == 2, output
        assert re.search(
            r"models\.csv:3: column 'api_key_env': the variable FIRST_HOUR_KEY is not set", output
        )

        # bad data: every error at once, naming the file, the line and the field, before anything starts
        started = time.monotonic()
        code, output = run_cli("--config", str(root), "--output", str(out), "--run-id", "first", env=env,
                               log=tmp_path / "data.log")  # fmt: skip
        assert code == 2, output[-3000:]
        assert time.monotonic() - started < 60 and not (out / "first").exists()
        assert re.search(r"typo\.jsonl:1: field 'answer' \(or 'answers'\): missing "
                         r"\(the row gives: id, image, text\)", output)  # fmt: skip
        assert re.search(r"qa/annotation\.csv:5: field 'image_path': image '\S*q_003\.png' not found", output)
        # the user fixes both; the image is back, but broken in a way only decoding finds
        fix_data(root)

        started = time.monotonic()
        code, output = run_cli("--config", str(root), "--output", str(out), "--run-id", "first", env=env,
                               log=tmp_path / "1.log")  # fmt: skip
        assert code == 1, output[-4000:]
        assert time.monotonic() - started < 180, "no endpoint error waits out a 30 s timeout"
        manifest = json.loads((out / "first" / "manifest.json").read_text())
        errors = {(p["model"], p["dataset"]): p["error"] or "" for p in manifest["pairs"]}

        assert errors[("good", "typo")] == ""
        assert output.count("'comment' are not read by this format") == 1
        # a sample whose image cannot be decoded is left out of the scores, and says so
        assert re.search(
            r"good/qa: 5 requests, 0 errors; 1 sample left out of the scores "
            r"\(image unreadable: not an image",
            output,
        )
        summary = pl.read_parquet(out / "first" / "summary.parquet")
        n = summary.filter(
            (pl.col("model") == "good") & (pl.col("dataset") == "qa") & (pl.col("group") == "")
        )
        assert set(n["n"].to_list()) == {5}
        assert "left out" in (out / "first" / "leaderboard.md").read_text()
        # endpoint errors say what to fix, at once
        assert "authentication failed" in errors[("wrongkey", "qa")]
        assert "FIRST_HOUR_WRONG_KEY" in errors[("wrongkey", "qa")] and "not-the-key" not in output
        assert "is probably missing /v1" in errors[("nopath", "qa")]
        assert "does not serve model 'gpt-9'; it serves: synthetic" in errors[("othermodel", "qa")]
        assert errors[("keyed", "qa")] == ""
        # messages that do not mislead
        assert "dataset 'unplanned' is not run: no plan.csv row pairs it" in output
        assert output.count("dataset 'unplanned' is not run") == 1
        assert "regression" not in output.split("results:")[0].rsplit("run first", 1)[-1].lower()
        assert "telemetry" not in output.lower() and "analytics" not in output.lower()
        # a quiet terminal: Prefect's own records (runs beginning and finishing, links) in the run's log file
        assert "View at" not in output and "Finished in state" not in output, output[-3000:]
        assert "Prefect's log: " in output and "Finished in state" in (out / "first/logs/run.log").read_text()
        lines = output.splitlines()
        header = lines[lines.index("qa") + 1]  # the piped table: a title line, then the header, whole
        assert header.split() == ["model", "anls", "exact_match", "TTFT", "p50", "ms", "latency", "p50",
                                  "s", "req/s", "pages/s", "peak", "RSS", "MB", "left", "out",
                                  "status"]  # fmt: skip

        code, output = run_cli(
            *("--config", str(root), "--output", str(out), "--run-id", "second"),
            *("--models", "good", "--datasets", "qa", "--max-samples", "3"),
            env=env,
            log=tmp_path / "2.log",
        )
        assert code == 0, output[-3000:]
        assert "regression" in output.lower()  # now there is a previous run to compare with

    history = subprocess.run(
        [sys.executable, "-m", "flows.history", "--output", str(out), "--models", "good"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert history.returncode == 0, history.stderr
    assert "first" in history.stdout and "second" in history.stdout
    qa = history.stdout.split("qa · anls")[1]
    # the second run's 3 samples include the one whose image is broken (the spread is stable): n = 2
    assert "n=5" in qa and "(n=2)" in qa, history.stdout
