"""Scorers in their own environments, built for real by the EnvManager (venv; Docker once), and their
values compared with the official packages run directly in those environments: omnidocbench's
evaluate_page and TEDS class, olmocr's test classes. A team's in-house scorer goes the same way."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import polars as pl
import pytest

from environments.manager import EnvManager
from tests.support.documents import olmocr_bench_folder, omnidocbench_page
from tests.support.support import REPO, require
from vlmhb_core.errors import EnvBuildError, ScorerError
from vlmhb_scorers.omnidocbench import to_ground_truth
from vlmhyperbench.datasets import read_dataset
from vlmhyperbench.scorers import SCORERS, Scorer, register_scorer, run_scorer, scorer_metric, scorer_spec

pytestmark = pytest.mark.slow

ODB_METRICS = SCORERS.get("omnidocbench").metric_names
TABLE = "<table><tr><td>Item</td><td>Cost</td></tr><tr><td>Paper</td><td>12</td></tr></table>"
PAGES = [
    omnidocbench_page(
        "a.png",
        [
            ("title", "Quarterly report"),
            ("text_block", "Revenue grew by ten percent in the third quarter."),
            ("table", TABLE),
            ("equation_isolated", "E = m c^2"),
            ("text_block", "Costs fell slightly as paper got cheaper."),
            ("page_number", "3"),
        ],
    ),
    omnidocbench_page("b.png", [("text_block", "Only one paragraph on this page."), ("table", TABLE)]),
    omnidocbench_page("c.png", [("text_block", "A page the model gets wrong.")]),
]
PREDICTIONS = [
    "# Quarterly report\n\nRevenue grew by ten percent in the 3rd quarter.\n\n"
    + TABLE.replace("12", "13")
    + "\n\n$$E = mc^2$$\n\nCosts fell slightly as paper got cheaper.",
    "<table><tr><th>Item</th><th>Cost</th></tr></table>\n\nOnly one paragraph on this page.",
    "",
]


def scorer_env(name: str, provider: str = "venv"):
    manager = EnvManager()
    try:
        return manager.ensure(scorer_spec(SCORERS.get(name), provider))
    except EnvBuildError as exc:
        require(False, f"cannot build the {name} scorer environment: {exc}")
        raise


def in_env(env, code: str, payload) -> object:
    """Runs CODE with ENV's python (the scorer's own packages, none of ours): JSON in and out."""
    proc = subprocess.run(
        [env.python, "-c", textwrap.dedent(code)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)} if "vlmhb_scorers" in code else None,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def odb_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample_id": [p["page_info"]["image_path"] for p in PAGES],
            "prediction": PREDICTIONS,
            "references": [[""] for _ in PAGES],
            "annotation": [json.dumps(p) for p in PAGES],
        }
    )


def test_omnidocbench_scorer_equals_the_package_run_directly(tmp_path):
    env = scorer_env("omnidocbench")
    run = run_scorer("omnidocbench", odb_table(), ODB_METRICS, workdir=tmp_path / "w", log=tmp_path / "s.log")
    assert run.environment.cached and run.environment.ready_s < 1.0  # built above: a cache hit

    direct = in_env(
        env,
        """
        import json, sys
        from omnidocbench import evaluate_page
        pages = json.load(sys.stdin)
        out = [evaluate_page(p, gt, cdm_dir="/tmp/cdm", disable_cdm=True) for p, gt in pages]
        print(json.dumps(out))
        """,
        [[p, to_ground_truth(page)] for p, page in zip(PREDICTIONS, PAGES)],
    )
    got = {(r["sample_id"], r["metric"]): r["value"] for r in run.scores.iter_rows(named=True)}
    for page, result in zip(PAGES, direct):
        sid = page["page_info"]["image_path"]
        for metric, part, key in (
            ("text_edit", "text", "edit_ratio"),
            ("table_edit", "table", "edit_ratio"),
            ("formula_edit", "equation", "edit_ratio"),
            ("reading_order_edit", "reading_order", "edit_ratio"),
            ("table_teds", "table", "teds"),
            ("table_teds_s", "table", "s_teds"),
        ):
            expected = result[part].get(key)
            assert got.get((sid, f"omnidocbench_{metric}")) == (
                pytest.approx(expected) if expected is not None else None
            ), (sid, metric)
    assert (
        0 < got[("a.png", "omnidocbench_table_teds")] < 1 and 0 < got[("a.png", "omnidocbench_text_edit")] < 1
    )
    assert got[("c.png", "omnidocbench_text_edit")] == 1.0  # an empty answer
    not_scored = {ns.metric: ns.reason for ns in run.not_scored}
    assert "xelatex" in not_scored["omnidocbench_formula_cdm"]
    assert "needs formula_cdm" in not_scored["omnidocbench_overall"]


def test_in_process_teds_equals_the_official_teds_class(tmp_path):
    from metrics._teds import normalize_table, teds, teds_of

    env = scorer_env("omnidocbench")
    pairs = [
        (TABLE, TABLE),
        (TABLE.replace("12", "13"), TABLE),
        ("<table><tr><td colspan='2'>Item Cost</td></tr><tr><td>Paper</td><td>12</td></tr></table>", TABLE),
        ("<table><tr><td>Item</td></tr></table>", TABLE),
        (
            "<table><tr><td>A <b>bold</b> cell</td><td rowspan='2'>x</td></tr><tr><td>y</td></tr></table>",
            TABLE,
        ),
        ("<p>none</p>", TABLE),
    ]
    wrap = "<html><body>{}</body></html>".format
    raw = [(wrap(p), wrap(t)) for p, t in pairs]
    normalised = [(normalize_table(p), normalize_table(t)) for p, t in pairs]
    official = in_env(
        env,
        """
        import json, sys
        from omnidocbench.table_metric import TEDS
        out = []
        for pred, true in json.load(sys.stdin):
            out.append([TEDS().evaluate(pred, true), TEDS(structure_only=True).evaluate(pred, true)])
        print(json.dumps(out))
        """,
        raw + [list(p) for p in normalised],
    )
    ours = [[teds_of(p, t), teds_of(p, t, structure_only=True)] for p, t in raw]
    ours += [[teds(p, t), teds(p, t, structure_only=True)] for p, t in pairs]
    assert ours == [pytest.approx(o) for o in official]


def olmocr_folder(root: Path) -> Path:
    return olmocr_bench_folder(
        root,
        {
            "multi_column": [
                (
                    "cols",
                    ["Alpha beta gamma. Delta epsilon zeta."],
                    [
                        {"type": "present", "text": "Alpha beta gamma"},
                        {"type": "order", "before": "Alpha beta", "after": "Delta epsilon"},
                        {"type": "absent", "text": "Omega"},
                    ],
                ),
                ("cols2", ["Eta theta iota."], [{"type": "present", "text": "Eta theta iota"}]),
            ],
            "table_tests": [
                (
                    "tab",
                    ["A table page"],
                    [
                        {"type": "table", "cell": "12", "up": "Cost"},
                        {"type": "present", "text": "A table page"},
                    ],
                )
            ],
        },
    )


def test_olmocr_bench_scorer_equals_olmocrs_tests_run_directly(tmp_path):
    env = scorer_env("olmocr_bench")
    samples = read_dataset("olmocr_bench", olmocr_folder(tmp_path / "bench"))
    answers = {
        "multi_column/cols.pdf": "Delta epsilon zeta. Alpha beta gamma.",  # order test fails
        "multi_column/cols2.pdf": "Eta theta iota.",
        "table_tests/tab.pdf": "A table page\n\n| Item | Cost |\n|---|---|\n| Paper | 12 |",
    }
    table = pl.DataFrame(
        {
            "sample_id": [s.id for s in samples],
            "prediction": [answers[s.id] for s in samples],
            "references": [[] for _ in samples],
            "annotation": [json.dumps(s.annotation) for s in samples],
        },
        schema_overrides={"references": pl.List(pl.String)},
    )
    run = run_scorer("olmocr_bench", table, ["olmocr_bench"], workdir=tmp_path / "w", log=tmp_path / "s.log")
    details = [json.loads(line) for line in (tmp_path / "w" / "details.jsonl").read_text().splitlines()]

    direct = in_env(
        env,
        """
        import json, sys
        from olmocr.bench.tests import load_single_test
        out = []
        for markdown, test in json.load(sys.stdin):
            passed, _ = load_single_test(test).run(markdown)
            out.append(bool(passed))
        print(json.dumps(out))
        """,
        [
            [answers[s.id], {k: v for k, v in t.items() if k != "category"}]
            for s in samples
            for t in s.annotation["tests"]
        ],
    )
    assert [d["passed"] for d in details] == direct
    assert direct.count(False) == 1  # the order test of cols.pdf
    rates: dict[str, list[bool]] = {}
    for d in details:
        rates.setdefault(d["category"], []).append(d["passed"])
    expected = sum(sum(v) / len(v) for v in rates.values()) / len(rates)

    import metrics

    scores = run.scores.with_columns(pl.lit("m").alias("model"), pl.lit("d").alias("dataset"))
    summary = metrics.summarize(scores, pl.DataFrame({"sample_id": ["x"]}), ["general", "by_category"])
    general = summary.filter(pl.col("aggregator") == "general")
    assert general["value"][0] == pytest.approx(expected)
    by_category = dict(
        summary.filter(pl.col("aggregator") == "by_category").select("group", "value").iter_rows()
    )
    assert by_category == {
        "baseline": 1.0,
        "multi_column": pytest.approx(3 / 4),
        "table_tests": 1.0,
    }


IN_HOUSE = """
def score(records, context):
    for r in records:
        yield {"sample_id": r["sample_id"], "metric": "acme_length", "value": len(r["prediction"])}
    yield {"not_scored": "acme_length", "reason": "no handwriting model here", "part": "handwriting"}


def bad(records, context):
    yield {"sample_id": records[0]["sample_id"], "metric": "someone_elses", "value": 1}


def boom(records, context):
    raise RuntimeError("the in-house scorer broke")
"""


def test_a_teams_in_house_scorer_runs_the_same_way(tmp_path):
    package = tmp_path / "acme-scorer"
    (package / "acme_scorer").mkdir(parents=True)
    (package / "acme_scorer" / "__init__.py").write_text(IN_HOUSE)
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "acme-scorer"\nversion = "1.0"\n'
    )
    for name, entry in (("acme", "score"), ("acme-bad", "bad"), ("acme-boom", "boom")):
        if not SCORERS.is_registered(name):
            metric = scorer_metric(
                "acme_length" if name == "acme" else f"acme_length_{entry}", name, higher_is_better=True
            )
            register_scorer(
                Scorer(name=name, entry=f"acme_scorer:{entry}", metrics=(metric,), packages=(str(package),))
            )
    table = pl.DataFrame({"sample_id": ["x", "y"], "prediction": ["abc", None], "references": [["a"], ["b"]]})
    try:
        run = run_scorer("acme", table, ["acme_length"], workdir=tmp_path / "w", log=tmp_path / "acme.log")
    except EnvBuildError as exc:
        require(False, f"cannot build the in-house scorer's environment: {exc}")
    assert dict(run.scores.select("sample_id", "value").iter_rows()) == {"x": 3.0, "y": 0.0}
    assert run.not_scored[0].part == "handwriting"
    with pytest.raises(ScorerError, match=r"output.jsonl:1: scorer 'acme-bad' wrote metric 'someone_elses'"):
        run_scorer("acme-bad", table, ["acme_length_bad"], workdir=tmp_path / "b", log=tmp_path / "bad.log")
    with pytest.raises(ScorerError, match=r"(?s)scorer 'acme-boom' exited 1.*the in-house scorer broke"):
        run_scorer(
            "acme-boom", table, ["acme_length_boom"], workdir=tmp_path / "c", log=tmp_path / "boom.log"
        )


def _docker_problem() -> str | None:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        from environments.docker import BASE_IMAGE

        try:
            client.images.get(BASE_IMAGE)
        except docker.errors.ImageNotFound:
            proc = subprocess.run(
                ["bash", str(REPO / "deployments" / "build_base_image.sh")], capture_output=True, text=True
            )
            if proc.returncode:
                return f"deployments/build_base_image.sh failed: {proc.stderr[-1000:]}"
        client.close()
    except Exception as exc:  # no SDK, no engine
        return f"no Docker engine answers ({exc})"
    return None


@pytest.mark.docker
def test_a_scorer_environment_can_be_a_docker_image(tmp_path):
    problem = _docker_problem()
    require(problem is None, problem or "")
    venv = run_scorer(
        "omnidocbench", odb_table(), ODB_METRICS, workdir=tmp_path / "v", log=tmp_path / "v.log"
    )
    docker = run_scorer(
        "omnidocbench",
        odb_table(),
        ODB_METRICS,
        workdir=tmp_path / "d",
        log=tmp_path / "d.log",
        env_override="docker",
    )
    assert docker.environment.provider == "docker" and docker.environment.location.startswith(
        "vlmhyperbench-env:"
    )
    assert docker.scores.sort("sample_id", "metric").equals(venv.scores.sort("sample_id", "metric"))
    assert [ns.metric for ns in docker.not_scored] == [ns.metric for ns in venv.not_scored]
    with pytest.raises(EnvBuildError, match="not supported in Docker environments"):
        EnvManager().ensure(scorer_spec(SCORERS.get("olmocr_bench"), "docker"))


def test_the_environments_command_builds_and_keeps_a_configs_scorers(write_config, capsys):
    from flows.cli.env import main

    config = write_config(
        {
            "models.csv": "name;backend;env\ntess;tesseract;venv\n",
            "datasets.csv": "name;task;format;path;metrics\nbench;parse;olmocr_bench;bench;olmocr_bench\n",
        }
    )
    (config / "bench").mkdir()
    key = scorer_spec(SCORERS.get("olmocr_bench"), "venv").key
    assert main(["build", "--config", str(config), "--env", "venv"]) == 0
    assert f"scorer:olmocr_bench: venv {key}" in capsys.readouterr().out
    assert main(["prune", "--config", str(config), "--env", "venv", "--dry-run"]) == 0
    assert key not in capsys.readouterr().out  # in use by the config: not a candidate for removal
