"""Fault injection on the whole benchmark (the CLI as a subprocess, real Prefect, real servers on 127.0.0.1).

One run (`matrix`) benchmarks eight models side by side, each behind a server with one fault: 5xx answers,
malformed and truncated streams, a hang, a crash, an environment that cannot be built, errors with markup;
its good model also gets images that only decoding finds broken (a missing image, a non-UTF-8 dataset or an
empty one stop the run before it starts: tests/flows/test_plan_data.py). Each test asserts what that fault
does, that nothing stored is lost and that the other models complete. Then: kill -9 in the middle of
inference and --resume; a results folder that runs out of space; Ctrl-C and SIGTERM (Prefect cancellation).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import polars as pl
import psutil
import pytest

from tests.support.fault_servers import (
    FaultServer,
    alive,
    cli_env,
    descendants,
    finish,
    journal_lines,
    journal_records,
    kill_tree,
    make_images,
    run_cli,
    start_cli,
    wait_for,
    write_annotation,
)
from tests.support.support import DEFAULT_CONFIG, require

pytestmark = pytest.mark.slow

KEY = "sk-vlmhb-PLANTED-7f3a9c2e51"
KEY_ENV = "VLMHB_FAULT_TEST_KEY"
MARKUP = "[/] <script>alert('pwned')</script>"
N_QA = 12

SERVERS = {
    "good": ("--answer", "echo", "--ttft-ms", "250", "--api-key", KEY),
    "flaky": ("--answer", "echo", "--fail-every", "3"),
    "malformed": ("--answer", "echo", "--malformed-every", "4"),
    "truncated": ("--answer", "echo", "--truncate-every", "4"),
    "hang": ("--answer", "echo", "--hang-after", "4"),
    "dying": ("--answer", "echo", "--exit-after", "5"),
    "markup": ("--fail-every", "1", "--fail-status", "500", "--error-message", MARKUP),
}


def write_config(root: Path, servers: dict[str, FaultServer]) -> Path:
    qa = [
        (
            f"q{i:03d}",
            f"images/{name}",
            f"What is field {i}" if i != 5 else "Say <b>bold</b> <script>x()</script>",
            f"field {i}" if i % 3 else "nope",
        )
        for i, name in enumerate(make_images(root / "qa" / "images", N_QA))
    ]
    write_annotation(root / "qa", qa)
    bad = root / "bad"
    make_images(bad, 1, "ok")
    (bad / "corrupt.png").write_bytes(os.urandom(2048).replace(b"\x89PNG", b"xxxx"))
    from PIL import Image

    Image.new("L", (6000, 6000), 255).save(bad / "huge.png")  # 36 megapixels, a small file
    (bad / "big.png").write_bytes((bad / "ok_000.png").read_bytes() + os.urandom(3 * 2**20))  # 3 MB
    write_annotation(
        bad,
        [
            ("ok", "ok_000.png", "q", "a"),
            ("corrupt", "corrupt.png", "q", "a"),
            ("huge", "huge.png", "q", "a"),
            ("big", "big.png", "q", "a"),
        ],
    )
    rows = ["name;backend;model;base_url;api_key_env;env;concurrency;timeout_s;max_tokens;python"]
    for name, server in servers.items():
        rows.append(
            f"{name};openai;synthetic;{server.base_url};{KEY_ENV if name == 'good' else ''};none;2;"
            f"{'1' if name == 'hang' else ''};256;"
        )
    rows.append("unbuildable;rapidocr;;;;venv;2;;256;3.99")
    (root / "models.csv").write_text("\n".join(rows) + "\n")
    (root / "datasets.csv").write_text(
        "name;task;format;path;metrics\nqa;vqa;vlmhyperbench;qa;anls exact_match\n"
        "bad;vqa;vlmhyperbench;bad;anls\nocr1;ocr;vlmhyperbench;qa;cer\n"
    )
    (root / "plan.csv").write_text("model;dataset\n*;qa\ngood;bad\nunbuildable;ocr1\n")
    return root


class Matrix:
    def __init__(self, tmp: Path, api_url: str):
        self.tmp, self.api_url = tmp, api_url
        self.servers = {name: FaultServer(*args) for name, args in SERVERS.items()}
        self.config = write_config(tmp / "config", self.servers)
        self.out = tmp / "results"
        self.env = cli_env(tmp, PREFECT_API_URL=api_url, **{KEY_ENV: KEY})
        self.code, self.output = run_cli(
            "--config",
            str(self.config),
            "--output",
            str(self.out),
            "--run-id",
            "matrix",
            env=self.env,
            log=tmp / "matrix.log",
            timeout=300,
        )
        self.run = self.out / "matrix"
        self.manifest = json.loads((self.run / "manifest.json").read_text())
        self.pairs = {(p["model"], p["dataset"]): p for p in self.manifest["pairs"]}

    def predictions(self, model: str, dataset: str = "qa") -> pl.DataFrame:
        return pl.read_parquet(self.run / "predictions" / model / f"{dataset}.parquet").sort("sample_id")

    def journal(self, model: str, dataset: str = "qa") -> list[dict]:
        return journal_records(self.run / "predictions" / model / f"{dataset}.journal.jsonl")

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, api_url):
    m = Matrix(tmp_path_factory.mktemp("matrix"), api_url)
    yield m
    m.close()


def answered(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("error").is_null()).select("sample_id", "prediction")


# ---------------------------------------------------------------- the matrix run


def test_the_run_finishes_and_the_good_model_completes(matrix):
    assert matrix.code == 1, matrix.output[-4000:]  # some pairs failed, the run finished
    assert matrix.manifest["status"] == "partial"
    assert matrix.pairs[("good", "qa")]["status"] == "completed"
    good = matrix.predictions("good")
    assert good.height == N_QA and good["error"].null_count() == N_QA
    assert all(p.endswith(tuple("0123456789abcdef")) for p in good["prediction"])  # echo answers
    # every completed pair has its scores in the run's tables
    scores = pl.read_parquet(matrix.run / "scores.parquet")
    completed = {m for (m, d), p in matrix.pairs.items() if p["status"] == "completed" and d == "qa"}
    assert set(scores.filter(pl.col("dataset") == "qa")["model"]) == completed
    assert {"good", "flaky", "malformed", "truncated"} <= completed


def test_a_share_of_5xx_answers_is_retried_and_costs_nothing(matrix):
    assert matrix.pairs[("flaky", "qa")]["status"] == "completed"
    flaky = matrix.predictions("flaky")
    assert answered(flaky).equals(answered(matrix.predictions("good")))
    assert flaky["attempts"].max() >= 2, "every third request failed and was asked again"
    assert matrix.servers["flaky"].stats()["chats"] > N_QA


@pytest.mark.parametrize("model", ["malformed", "truncated"])
def test_malformed_and_truncated_streams_are_retried_never_stored(matrix, model):
    assert matrix.pairs[(model, "qa")]["status"] == "completed"
    preds = matrix.predictions(model)
    assert answered(preds).equals(answered(matrix.predictions("good"))), "no cut or garbled answer is stored"
    assert preds["attempts"].max() >= 2


def test_a_hung_server_times_out_and_its_answers_are_kept(matrix):
    pair = matrix.pairs[("hang", "qa")]
    assert pair["status"] == "failed" and "stopped early" in pair["error"] and "timeout" in pair["error"]
    records = matrix.journal("hang")
    assert sum(r["error"] is None for r in records) == 4, "the 4 answers before the hang are kept"
    preds = matrix.predictions("hang")
    good = matrix.predictions("good").filter(
        pl.col("sample_id").is_in(answered(preds)["sample_id"].to_list())
    )
    assert answered(preds).equals(answered(good))


def test_a_server_killed_mid_run_fails_its_model_only_and_keeps_its_answers(matrix):
    assert not matrix.servers["dying"].alive(), "the server process died"
    pair = matrix.pairs[("dying", "qa")]
    assert pair["status"] == "failed" and "connection error" in pair["error"]
    kept = sum(r["error"] is None for r in matrix.journal("dying"))
    assert kept in (4, 5), "the answers before the crash are kept (one may have been in flight)"
    assert answered(matrix.predictions("dying")).height == kept


def test_an_environment_that_cannot_be_built_fails_its_model_only(matrix):
    pair = matrix.pairs[("unbuildable", "ocr1")]
    assert pair["status"] == "failed"
    assert (
        pair["error"].startswith("EnvBuildError: ")
        and "no Python 3.99 found" in pair["error"]
        and "Traceback" not in pair["error"]
    )
    assert "no Python 3.99 found" in matrix.output and "Traceback" not in matrix.output, (
        "the terminal gets the project's message, not Prefect's traceback of it"
    )


def test_an_image_only_decoding_finds_broken_fails_its_sample_and_the_pair_goes_on(matrix):
    assert matrix.pairs[("good", "bad")]["status"] == "completed"
    preds = {r["sample_id"]: r for r in matrix.predictions("good", "bad").iter_rows(named=True)}
    assert set(preds) == {"ok", "corrupt", "huge", "big"}
    for sid in ("ok", "huge", "big"):
        assert preds[sid]["error"] is None and preds[sid]["prediction"], sid
    assert "not an image" in preds["corrupt"]["error"] and preds["corrupt"]["attempts"] == 0


def test_errors_with_markup_are_escaped_in_every_report(matrix):
    pair = matrix.pairs[("markup", "qa")]
    assert pair["status"] == "failed" and "<script>alert" in pair["error"]
    html = (matrix.run / "report.html").read_text()
    assert "<script>alert" not in html and "<script>x()" not in html and "<b>bold</b>" not in html
    leaderboard = (matrix.run / "leaderboard.md").read_text()
    assert "<script>" not in leaderboard
    assert "Traceback" not in matrix.output.split("VLMHyperBench — run")[-1], "the terminal table printed"
    import asyncio

    from prefect.client.orchestration import get_client

    async def summaries() -> list[str]:
        async with get_client() as client:
            return [str(a.data) for a in await client.read_artifacts() if a.key == "summary"]

    texts = [t for t in asyncio.run(summaries()) if "markup" in t]
    assert texts and not any("<script>" in t for t in texts), "the Prefect summary artifact is escaped"


def test_the_api_key_is_sent_but_never_written(matrix):
    assert matrix.servers["good"].stats()["chats"] >= N_QA  # the server refuses requests without the key
    places = [p for p in matrix.run.rglob("*") if p.is_file()]
    places += [p for p in (matrix.tmp / "prefect-home").rglob("*") if p.is_file()]
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    db = re.search(r"sqlite\+aiosqlite:///(.+)", PREFECT_API_DATABASE_CONNECTION_URL.value() or "")
    if db:  # the Prefect API's database: flow parameters, logs, artifacts
        places += [p for p in Path(db.group(1)).parent.glob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in places) and any(p.suffix == ".parquet" for p in places)
    leaks = [str(p) for p in places if KEY.encode() in p.read_bytes()]
    assert not leaks and KEY not in matrix.output


# ---------------------------------------------------------------- kill -9 in the middle, then --resume


def test_kill_9_then_resume_equals_an_uninterrupted_run(matrix, tmp_path):
    good = matrix.servers["good"]
    good.reset()
    args = (
        "--config",
        str(matrix.config),
        "--output",
        str(matrix.out),
        "--models",
        "good",
        "--datasets",
        "qa",
    )
    proc = start_cli(*args, "--run-id", "killed", env=matrix.env, log=tmp_path / "killed.log")
    run = matrix.out / "killed"
    try:
        wait_for(lambda: journal_lines(run) >= 3, timeout=120, interval=0.02, what="3 answers journaled")
        children = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        finish(proc, 30)
    finally:
        kill_tree(proc.pid)
    for p in alive(children):  # kill -9 cannot clean up; no model server is involved here
        p.kill()
    before = journal_lines(run)
    assert before < N_QA, "killed in the middle of inference"
    journal_records(run / "predictions" / "good" / "qa.journal.jsonl")  # a cut last line, if any, is dropped
    code, output = run_cli(*args, "--resume", "killed", env=matrix.env, log=tmp_path / "resume.log")
    assert code == 0, output[-3000:]
    resumed = pl.read_parquet(run / "predictions" / "good" / "qa.parquet").sort("sample_id")
    assert resumed.select("sample_id", "prediction", "error").equals(
        matrix.predictions("good").select("sample_id", "prediction", "error")
    )
    key = ["sample_id", "metric"]
    scores = pl.read_parquet(run / "scores.parquet").select(*key, "value").sort(key)
    baseline = (
        pl.read_parquet(matrix.run / "scores.parquet")
        .filter((pl.col("model") == "good") & (pl.col("dataset") == "qa"))
        .select(*key, "value")
        .sort(key)
    )
    assert scores.equals(baseline)
    duplicates = good.stats()["chats"] - N_QA
    assert 0 <= duplicates <= 2, (
        f"only the requests in flight (concurrency 2) are asked twice, not {duplicates}"
    )


# ---------------------------------------------------------------- a results folder that runs out of space


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    require(proc.returncode == 0, f"cannot mount a tmpfs (needs root): {proc.stderr.decode()[-200:]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_results_disk_is_a_clear_error_and_the_answers_stay(matrix, tiny_disk, tmp_path):
    args = (
        "--config",
        str(matrix.config),
        "--output",
        str(tiny_disk),
        "--models",
        "good",
        "--datasets",
        "qa",
    )
    proc = start_cli(*args, "--run-id", "full", env=matrix.env, log=tmp_path / "full.log")
    run = tiny_disk / "full"
    filler = tiny_disk / "filler"
    try:
        wait_for(lambda: journal_lines(run) >= 2, timeout=120, interval=0.02, what="2 answers journaled")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk while inference goes on
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        code = finish(proc, 120)
    finally:
        kill_tree(proc.pid)
    output = (tmp_path / "full.log").read_text(errors="replace")
    assert code not in (0, 2) and "No space left on device" in output, output[-3000:]
    records = (
        journal_records(run / "predictions" / "good" / "qa.journal.jsonl")
        if (run / "predictions" / "good" / "qa.journal.jsonl").read_bytes().endswith(b"\n")
        else None
    )
    kept = journal_lines(run)
    assert 2 <= kept < N_QA and (records is None or all(r["sample_id"] for r in records))
    filler.unlink()
    code, output = run_cli(*args, "--resume", "full", env=matrix.env, log=tmp_path / "resume.log")
    assert code == 0, output[-3000:]
    resumed = pl.read_parquet(run / "predictions" / "good" / "qa.parquet").sort("sample_id")
    assert answered(resumed).equals(answered(matrix.predictions("good")))


def test_a_full_results_disk_ends_with_one_clear_line(matrix, tiny_disk, tmp_path):
    (tiny_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 48 * 1024))  # ~48 KB left: room for the start
    code, output = run_cli(
        "--config",
        str(matrix.config),
        "--output",
        str(tiny_disk),
        "--models",
        "good",
        "--datasets",
        "qa",
        "--run-id",
        "full2",
        env=matrix.env,
        log=tmp_path / "full2.log",
    )
    last = output.strip().splitlines()[-1]
    assert code not in (0, 2), output[-2000:]
    assert "No space left on device" in last and "--resume" in last, (
        "the run ends with one clear line: " + last
    )


# ---------------------------------------------------------------- Ctrl-C and SIGTERM (Prefect cancellation)


def rapidocr_config(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(DEFAULT_CONFIG / "models.csv", root / "models.csv")
    (root / "datasets.csv").write_text(
        "name;task;format;path;metrics\n"
        f"docs-ocr;ocr;vlmhyperbench;{DEFAULT_CONFIG / 'data' / 'ocr.csv'};cer\n"
    )
    (root / "plan.csv").write_text("model;dataset;concurrency\nrapidocr-1.4;docs-ocr;1\n")
    return root


def server_processes(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if "vlmhb_server" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_stops_the_server_and_keeps_the_answers(api_url, tmp_path, how):
    from tests.support.support import built_env_python

    built_env_python("rapidocr", ("rapidocr-onnxruntime==1.4.4",))  # cached by the e2e tests; built once
    config = rapidocr_config(tmp_path / "config")
    out = tmp_path / "results"
    proc = start_cli(
        "--config",
        str(config),
        "--output",
        str(out),
        "--run-id",
        "int",
        env=cli_env(tmp_path, PREFECT_API_URL=api_url),
        log=tmp_path / "int.log",
    )
    run = out / "int"
    try:
        wait_for(
            lambda: journal_lines(run) >= 1 or proc.poll() is not None,
            timeout=240,
            interval=0.1,
            what="a first answer",
        )
        assert proc.poll() is None, (tmp_path / "int.log").read_text()[-3000:]
        tree = descendants(proc.pid)
        servers = server_processes(tree)
        assert len(servers) == 1, "the model server runs as a child process"
        listening = [
            c.laddr for c in servers[0].net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # the terminal sends it to the whole foreground group
        else:
            os.kill(proc.pid, signal.SIGTERM)  # what a Prefect worker sends a cancelled flow run
        code = finish(proc, 90)
    finally:
        kill_tree(proc.pid)
    output = (tmp_path / "int.log").read_text(errors="replace")
    assert not alive(tree), f"orphans: {[p.cmdline() for p in alive(tree)]}"
    records = journal_records(run / "predictions" / "rapidocr-1.4" / "docs-ocr.journal.jsonl")
    assert records and all(r["sample_id"] for r in records)
    if how == "ctrl-c":
        assert code == 130, output[-3000:]
        assert "interrupted: servers stopped; continue with --resume" in output
    else:  # SIGTERM (a Prefect worker cancelling the run) exits like Ctrl-C
        assert code == 130 and "interrupted: servers stopped; continue with --resume" in output, output[
            -2000:
        ]
        assert "Traceback" not in output
