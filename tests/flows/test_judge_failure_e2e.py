"""A judge's failure is visible: a scripted judge that never answers in the expected form fails its pair
(exit 1) with a reason that names it and counts its answers, the report shows what it said, and a judge that
leaves exactly half of the samples without a verdict keeps its pair, with a warning that counts them. The
command line as a subprocess on real Prefect, against synthetic OpenAI-compatible servers."""

from __future__ import annotations

import json

import pytest

from tests.support.fault_servers import FaultServer, cli_env, run_cli, simple_dataset

pytestmark = pytest.mark.slow

SAID = "The answer looks right to me."


def test_a_judge_that_never_grades_fails_its_pair_and_the_report_shows_its_answers(api_url, tmp_path):
    config, out = tmp_path / "config", tmp_path / "results"
    simple_dataset(config / "qa", 4)
    never = tmp_path / "never.json"
    never.write_text(json.dumps({"Submitted answer": SAID}))  # every question, never a GRADE line
    half = tmp_path / "half.json"
    half.write_text(
        json.dumps({"What is field 0\n": "GRADE: C", "What is field 1\n": "GRADE: I", "Submitted": "hmm"})
    )
    servers = {
        "cand": FaultServer("--answer", "echo", "--ttft-ms", "5", "--itl-ms", "1"),
        "never": FaultServer("--answers", str(never), "--ttft-ms", "5", "--itl-ms", "1"),
        "half": FaultServer("--answers", str(half), "--ttft-ms", "5", "--itl-ms", "1"),
    }
    try:
        cand, never_url, half_url = (servers[n].base_url for n in ("cand", "never", "half"))
        (config / "models.csv").write_text(
            "name;backend;model;base_url;env;concurrency\n"
            f"c1;openai;synthetic;{cand};none;2\nc2;openai;synthetic;{cand};none;2\n"
            f"j1;openai;synthetic;{never_url};none;2\nj2;openai;synthetic;{half_url};none;2\n"
        )
        (config / "datasets.csv").write_text("name;task;path;metrics\nqa;vqa;qa;anls judge_correct\n")
        (config / "plan.csv").write_text("model;dataset;judge\nc1;qa;j1\nc2;qa;j2\n")
        env = cli_env(tmp_path, PREFECT_API_URL=api_url)
        args = ("--config", str(config), "--output", str(out), "--run-id", "never-grades")
        code, output = run_cli(*args, env=env, log=tmp_path / "run.log")
        assert code == 1, output[-4000:]
        run = out / "never-grades"
        pairs = {p["model"]: p for p in json.loads((run / "manifest.json").read_text())["pairs"]}

        # every answer of j1 unparseable (asked twice each): its pair fails, naming it and counting
        failed = pairs["c1"]
        assert failed["status"] == "failed", failed
        assert failed["error"].startswith(
            "JudgeError: judge j1: 4 of 4 answers unparseable; no verdict for 4 of 4"
        )
        assert "judge_correct (more than half)" in failed["error"]
        assert servers["never"].stats()["chats"] == 8, "each question asked once more, never twice"
        assert "judge j1: 4 of 4 answers unparseable" in output  # the terminal says so, and exits 1

        # j2 gave verdicts on exactly half: the pair stands, with a warning that counts what is missing
        assert pairs["c2"]["status"] == "completed" and pairs["c2"]["no_verdict"] == 2
        assert "c2/qa: 2 judged samples have no verdict (judges: j2 2)" in output

        # the report's Judges section shows each sample without a verdict with what the judge said
        html = (run / "report.html").read_text()
        section = html[html.index('id="no-verdict"') :]
        section = section[: section.index("</table>")]
        assert section.count(SAID) == 4 and section.count("hmm") == 2 and "unparseable" in section
        assert (
            'unparseable</span> <span class="meta">no &#39;GRADE: C&#39; or &#39;GRADE: I&#39; in' in section
        )
        leaderboard = (run / "leaderboard.md").read_text()
        assert "Samples without a verdict (6;" in leaderboard
    finally:
        for server in servers.values():
            server.stop()
