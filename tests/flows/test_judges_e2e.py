"""Judges through `python -m flows.benchmark`, on real Prefect, against real servers on 127.0.0.1: two
candidates and three judges with scripted verdicts (the synthetic server's `--answers`), a judge that cannot
start, then `rescore` (no request; a changed judge prompt asks exactly the missing verdicts with
--ask-judges), and kill -9 in the middle of judging, then --resume. Every judged figure is checked against
the value the scripted verdicts imply, computed by hand below."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.support.fault_servers import (
    FaultServer,
    cli_env,
    finish,
    kill_tree,
    make_images,
    run_cli,
    start_cli,
    wait_for,
    write_annotation,
)
from tests.support.prefect_api import benchmark_runs
from tests.support.support import REPO

pytestmark = pytest.mark.slow

REFERENCES = ["05.03.2024", "Acme", "42", "blue", "7", "Paris"]
ANSWERS = {
    "c1": [
        "March 5, 2024", "<think>the header says Acme</think>Acme", "The total is 42", "red", "7",
        "Paris, France",
    ],
    "c2": ["05.03.2024", "ACME Corp", "41", "blue", "seven", "Lyon"],
}  # fmt: skip
# judge -> candidate -> one verdict script per sample (a list: the answers in order, the last repeated)
VERDICTS = {
    "j1": {"c1": ["C", "C", "C", "I", "C", "C"], "c2": ["C", "I", "I", "C", "C", "I"]},
    "j2": {"c1": ["C", "C", ["junk", "C"], "I", "C", "I"], "c2": ["C", "C", "I", "C", "C", "I"]},
    "j3": {"c1": ["C", "I", "C", "I", "C", ["?", "??"]], "c2": ["C", "C", "I", "C", "I", "I"]},
}
EXTRACTIONS = ["March 5, 2024", "Acme", "42", "red", "7", "Paris"]  # j1's, of c1's answers (dataset ext)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shown(answer: str) -> str:
    """The answer as a judge sees it: reasoning removed."""
    return answer.split("</think>")[-1]


def grade_key(i: int, answer: str) -> str:
    return f"Question: Q-{i}?\nReference answer(s): {REFERENCES[i]}\nSubmitted answer: {shown(answer)}\n"


def verdict_text(v) -> str | list[str]:
    if isinstance(v, list):
        return [x if x in ("junk", "?", "??") else f"GRADE: {x}" for x in v]
    return f"The answer is judged.\nGRADE: {v}"


def write_setup(root: Path, n: int = 6) -> dict[str, Path]:
    """The dataset (Q-i? with REFERENCES), and the candidates' and judges' scripted answers files."""
    names = make_images(root / "qa" / "images", n)
    write_annotation(
        root / "qa", [(f"s{i}", f"images/{names[i]}", f"Q-{i}?", REFERENCES[i]) for i in range(n)]
    )
    files = {}
    for cand, answers in ANSWERS.items():
        files[cand] = root / f"{cand}.json"
        files[cand].write_text(json.dumps({f"Q-{i}?": a for i, a in enumerate(answers)}))
    for judge, by_cand in VERDICTS.items():
        script = {
            grade_key(i, ANSWERS[cand][i]): verdict_text(v)
            for cand, verdicts in by_cand.items()
            for i, v in enumerate(verdicts)
        }
        if judge == "j1":
            script |= {
                f"Question: Q-{i}?\nReply: {shown(ANSWERS['c1'][i])}\n": f"ANSWER: {e}"
                for i, e in enumerate(EXTRACTIONS)
            }
        files[judge] = root / f"{judge}.json"
        files[judge].write_text(json.dumps(script))
    return files


class JudgedRun:
    def __init__(self, tmp: Path, api_url: str):
        self.tmp = tmp
        self.config = tmp / "config"
        files = write_setup(self.config)
        self.servers = {
            name: FaultServer("--answers", str(path), "--ttft-ms", "5", "--itl-ms", "1", model=name)
            for name, path in files.items()
        }
        rows = ["name;backend;model;base_url;env;concurrency;max_tokens"]
        rows += [f"{n};openai;{n};{s.base_url};none;4;64" for n, s in self.servers.items()]
        rows.append(f"dead;openai;dead;http://127.0.0.1:{closed_port()}/v1;none;4;64")
        (self.config / "models.csv").write_text("\n".join(rows) + "\n")
        (self.config / "datasets.csv").write_text(
            "name;task;path;metrics;judge\n"
            "qa;vqa;qa;anls anls|judge judge_correct;j1 j2 j3\n"
            "ext;vqa;qa;anls judge_extract:anls;j1\n"
            "lost;vqa;qa;anls judge_correct;dead\n"
        )
        (self.config / "plan.csv").write_text("model;dataset\nc1;qa\nc2;qa\nc1;ext\nc2;lost\n")
        self.out = tmp / "results"
        self.env = cli_env(tmp, PREFECT_API_URL=api_url, VLMHB_SERVER_START_TIMEOUT_S="3")
        self.code, self.log = run_cli(
            "--config", str(self.config), "--output", str(self.out), "--run-id", "judged",
            env=self.env, log=tmp / "judged.log", timeout=600,
        )  # fmt: skip
        self.run = self.out / "judged"
        self.manifest = json.loads((self.run / "manifest.json").read_text())
        self.pairs = {(p["model"], p["dataset"]): p for p in self.manifest["pairs"]}

    def table(self, name: str) -> list[dict]:
        return pl.read_parquet(self.run / f"{name}.parquet").to_dicts()

    def chats(self) -> dict[str, int]:
        return {name: s.stats()["chats"] for name, s in self.servers.items()}

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def judged(tmp_path_factory, api_url):
    run = JudgedRun(tmp_path_factory.mktemp("judged"), api_url)
    yield run
    run.close()


def rescore(*args: str, env: dict, log: Path) -> tuple[int, str]:
    """`python -m flows.rescore ARGS`, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "flows.rescore", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    log.write_text(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout + proc.stderr


def general(run_dir: Path) -> dict[tuple[str, str, str], float]:
    summary = pl.read_parquet(run_dir / "summary.parquet").filter(pl.col("aggregator") == "general")
    return {(r["model"], r["dataset"], r["metric"]): r["value"] for r in summary.iter_rows(named=True)}


def test_the_judged_scores_are_what_the_verdicts_imply(judged):
    assert judged.code == 1, judged.log[-4000:]  # the pair of the judge that cannot start failed
    assert {k: p["status"] for k, p in judged.pairs.items()} == {
        ("c1", "qa"): "completed", ("c2", "qa"): "completed", ("c1", "ext"): "completed",
        ("c2", "lost"): "failed",
    }  # fmt: skip
    value = general(judged.run)
    # c1 (majority of j1 j2 j3): s0 C, s1 C, s2 C (j2 after one unparseable answer), s3 I, s4 C, s5 tie
    # (j3 unparseable twice) -> no verdict. anls passes s1 (reasoning removed) and s4 only.
    assert value[("c1", "qa", "anls")] == pytest.approx(2 / 6)
    assert value[("c1", "qa", "judge_correct")] == pytest.approx(4 / 5)
    assert value[("c1", "qa", "anls|judge")] == pytest.approx((2 + 2) / 5)
    # c2: C C I C C I; anls passes s0 and s3
    assert value[("c2", "qa", "judge_correct")] == pytest.approx(4 / 6)
    assert value[("c2", "qa", "anls|judge")] == pytest.approx((2 + 2) / 6)
    # j1's extractions of c1's answers, scored with anls: s1 s2 s4 s5 match
    assert value[("c1", "ext", "judge_extract:anls")] == pytest.approx(4 / 6)


def test_how_many_samples_the_judges_saw(judged):
    counts = {(r["model"], r["dataset"], r["metric"]): r for r in judged.table("judging")}
    cols = (
        "samples",
        "rule_passed",
        "answer_failed",
        "judged",
        "judged_correct",
        "judged_incorrect",
        "no_verdict",
    )
    assert tuple(counts[("c1", "qa", "anls|judge")][c] for c in cols) == (6, 2, 0, 4, 2, 1, 1)
    assert tuple(counts[("c1", "qa", "judge_correct")][c] for c in cols) == (6, 0, 0, 6, 4, 1, 1)
    assert tuple(counts[("c2", "qa", "anls|judge")][c] for c in cols) == (6, 2, 0, 4, 2, 2, 0)
    assert tuple(counts[("c1", "ext", "judge_extract:anls")][c] for c in cols) == (6, 0, 0, 6, None, None, 0)
    assert counts[("c1", "qa", "anls|judge")]["judges"] == "j1 j2 j3"
    assert (judged.run / "judging.csv").is_file() and "## Judges" in (
        judged.run / "leaderboard.md"
    ).read_text()


def test_agreement_with_the_rule_and_between_judges(judged):
    rows = {(r["model"], r["judge"], r["versus"]): r for r in judged.table("agreement")}
    cols = ("n", "both_correct", "both_incorrect", "only_judge_correct", "only_versus_correct")
    # c1 majority C C C I C (s5 unrated) against anls T F F F T: kappa = (5*3 - 11) / (25 - 11)
    r = rows[("c1", "majority", "anls")]
    assert tuple(r[c] for c in cols) == (5, 2, 1, 2, 0)
    assert r["agree"] == pytest.approx(3 / 5) and r["kappa"] == pytest.approx(2 / 7)
    r = rows[("c2", "majority", "anls")]  # C C I C C I against T F F T F F
    assert tuple(r[c] for c in cols) == (6, 2, 2, 2, 0) and r["kappa"] == pytest.approx(8 / 20)
    r = rows[("c1", "j1", "j2")]  # C C C I C C against C C C I C I
    assert tuple(r[c] for c in cols) == (6, 4, 1, 1, 0) and r["kappa"] == pytest.approx(8 / 14)


def test_the_disagreements_are_in_the_report_with_their_images(judged):
    html = (judged.run / "report.html").read_text()
    section = html.split('<h2 id="judges">')[1].split('<h2 id="failures">')[0]
    disagreeing = section.split("Where judge and rule disagree most")[1]
    # C where anls says 0: c1's s0 and s2, c2's s1 and s4, each with its page
    assert disagreeing.count("data:image/jpeg;base64,") == 4
    assert "March 5, 2024" in disagreeing and "The total is 42" in disagreeing
    assert "The judges&#39; cost and speed" in section or "The judges' cost and speed" in section


def test_every_verdict_is_journaled_per_judge_model_and_dataset(judged):
    journals = sorted(str(p.relative_to(judged.run)) for p in (judged.run / "verdicts").rglob("*.jsonl"))
    assert journals == [
        "verdicts/j1/c1/ext.journal.jsonl", "verdicts/j1/c1/qa.journal.jsonl",
        "verdicts/j1/c2/qa.journal.jsonl",
        "verdicts/j2/c1/qa.journal.jsonl", "verdicts/j2/c2/qa.journal.jsonl",
        "verdicts/j3/c1/qa.journal.jsonl", "verdicts/j3/c2/qa.journal.jsonl",
    ]  # fmt: skip
    lines = [json.loads(x) for x in (judged.run / "verdicts/j2/c1/qa.journal.jsonl").read_text().splitlines()]
    assert len(lines) == 7  # six questions and one asked again
    again = [x for x in lines if x["sample_id"] == "s2"]
    assert [(x["attempt"], x["verdict"], x["raw"]) for x in again] == [
        (1, None, "junk"),
        (2, "C", "GRADE: C"),
    ]
    assert again[0]["verdict_error"].startswith("unparseable")
    assert "Submitted answer: The total is 42" in again[0]["prompt"]
    assert all(x["latency_s"] > 0 and x["output_tokens"] > 0 and x["prompt_tokens"] > 0 for x in lines)
    # the raw answer stays in the predictions; metrics and judges saw it without its reasoning
    preds = pl.read_parquet(judged.run / "predictions/c1/qa.parquet").sort("sample_id")
    assert preds["prediction"][1] == "<think>the header says Acme</think>Acme"
    assert judged.chats() == {"c1": 12, "c2": 12, "j1": 18, "j2": 13, "j3": 13}  # c1 asked by qa and ext


def test_the_judges_cost_and_speed_are_reported_apart(judged):
    perf = {(r["judge"], r["model"], r["dataset"]): r for r in judged.table("judge_performance")}
    assert set(perf) == {
        ("j1", "c1", "qa"), ("j1", "c2", "qa"), ("j1", "c1", "ext"), ("j2", "c1", "qa"), ("j2", "c2", "qa"),
        ("j3", "c1", "qa"), ("j3", "c2", "qa"),
    }  # fmt: skip
    r = perf[("j3", "c1", "qa")]
    assert (r["requests"], r["unparseable"], r["reasked"], r["request_errors"]) == (7, 2, 1, 0)
    assert r["latency_p50_s"] > 0 and r["requests_per_s"] > 0 and r["prompt_tokens"] > 0
    models = {r["model"] for r in pl.read_parquet(judged.run / "performance.parquet").to_dicts()}
    assert models == {"c1", "c2"}  # the candidates' own table holds no judge
    assert judged.manifest["judges"]["j1"]["started"] and judged.manifest["judges"]["j1"]["asked"] == 18


def test_a_judge_that_cannot_start_fails_visibly_and_names_itself(judged):
    pair = judged.pairs[("c2", "lost")]
    assert pair["error"].startswith("JudgeError: judge 'dead' could not start: ServerError")
    assert judged.manifest["judges"]["dead"]["status"] == "failed"
    benchmark, children = asyncio.run(benchmark_runs("judged"))
    assert benchmark.state.is_failed() and "c2/lost" in benchmark.state.message
    assert children["judge-dead"].state.is_failed()
    assert children["judge-dead"].state.message.startswith("judge dead: could not start")
    assert all(children[f"judge-{j}"].state.is_completed() for j in ("j1", "j2", "j3"))
    assert children["evaluate-c2"].state.is_completed()  # the candidate answered; its judge failed
    assert not (judged.run / "pairs/c2/lost.scores.parquet").exists()  # nothing counted as wrong


def test_rescore_reuses_the_verdicts_and_asks_only_when_told(judged, tmp_path):
    before, values = judged.chats(), general(judged.run)
    code, log = rescore(str(judged.run), env=judged.env, log=tmp_path / "rescore.log")
    assert code == 0, log[-3000:]
    assert judged.chats() == before, "a rescore sends no request"
    assert general(judged.run) == values
    # a new judge prompt (the same question inside): every grade verdict of the copy is missing
    copy = tmp_path / "copy" / "judged"
    shutil.copytree(judged.run, copy)
    (copy / "config" / "prompts.csv").write_text(
        "collection;doc_class;question_type;template\n"
        'judge;;;"Be strict.\nQuestion: {{ question }}\n'
        "Reference answer(s): {{ references | join(' | ') }}\n"
        'Submitted answer: {{ answer }}\n\nEnd with GRADE: C or GRADE: I."\n'
    )
    code, log = rescore(str(copy), env=judged.env, log=tmp_path / "rescore2.log")
    assert code == 0 and judged.chats() == before, log[-3000:]
    assert "judged samples have no verdict in the journals" in log
    counts = {
        (r["model"], r["dataset"], r["metric"]): r
        for r in pl.read_parquet(copy / "judging.parquet").to_dicts()
    }
    assert counts[("c1", "qa", "judge_correct")]["no_verdict"] == 6
    assert counts[("c1", "ext", "judge_extract:anls")]["no_verdict"] == 0  # its prompt did not change
    code, log = rescore(str(copy), "--ask-judges", "missing", env=judged.env, log=tmp_path / "rescore3.log")
    assert code == 0, log[-3000:]
    after = judged.chats()
    # 12 grade questions each (the extractions are journaled); j3 asks c1's s5 twice ("??" twice), and
    # j2's scripted "junk" is spent, so its s2 is read at once
    assert {j: after[j] - before[j] for j in ("j1", "j2", "j3")} == {"j1": 12, "j2": 12, "j3": 13}
    assert after["c1"] == before["c1"] and after["c2"] == before["c2"]
    assert general(copy)[("c1", "qa", "judge_correct")] == pytest.approx(4 / 5)


def test_resume_after_kill_asks_only_the_missing_verdicts(api_url, tmp_path):
    root = tmp_path / "config"
    n = 12
    names = make_images(root / "qa" / "images", n)
    write_annotation(root / "qa", [(f"s{i}", f"images/{names[i]}", f"Q-{i}?", f"v{i}") for i in range(n)])
    (root / "cand.json").write_text(json.dumps({f"Q-{i}?": f"v{i}" for i in range(n)}))
    (root / "judge.json").write_text(json.dumps({"Submitted answer": "GRADE: C"}))
    cand = FaultServer("--answers", str(root / "cand.json"), "--ttft-ms", "5", model="cand")
    judge = FaultServer("--answers", str(root / "judge.json"), "--ttft-ms", "700", model="judge")
    try:
        (root / "models.csv").write_text(
            "name;backend;model;base_url;env;concurrency\n"
            f"cand;openai;cand;{cand.base_url};none;4\njudge;openai;judge;{judge.base_url};none;2\n"
        )
        (root / "datasets.csv").write_text("name;task;path;metrics;judge\nqa;vqa;qa;judge_correct;judge\n")
        env = cli_env(tmp_path, PREFECT_API_URL=api_url)
        out = tmp_path / "results"
        journal = out / "r" / "verdicts" / "judge" / "cand" / "qa.journal.jsonl"
        proc = start_cli(
            "--config", str(root), "--output", str(out), "--run-id", "r", env=env, log=tmp_path / "1.log"
        )
        try:
            wait_for(
                lambda: journal.is_file() and journal.read_bytes().count(b"\n") >= 3, 240, what="3 verdicts"
            )
        finally:
            kill_tree(proc.pid)  # kill -9
            finish(proc, 30)
        kept = journal.read_bytes().count(b"\n")
        assert 3 <= kept < n
        code, log = run_cli(
            "--output", str(out), "--resume", "r", env=env, log=tmp_path / "2.log", timeout=300
        )
        assert code == 0, log[-3000:]
        assert cand.stats()["chats"] == n, "the candidate is not asked again"
        # only the missing verdicts: the requests in flight at the kill (its concurrency) at most twice
        assert n <= judge.stats()["chats"] <= n + 2
        lines = [json.loads(x) for x in journal.read_text().splitlines()]
        assert len({x["key"] for x in lines}) == n and all(x["verdict"] == "C" for x in lines)
        value = general(out / "r")
        assert value[("cand", "qa", "judge_correct")] == 1.0
    finally:
        cand.stop()
        judge.stop()
