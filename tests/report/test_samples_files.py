"""The sample explorer's files, without a browser: samples.html (the viewer, its CSP), the index and chunk
scripts under samples/data/ (every answer, its scores, reasoning, error and judges' verdicts), the pages and
thumbnails (made once per page), and report.html's links into it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest

from tests.support.synthetic_runs import answer, build_run, make_config, write_run
from vlmhyperbench.report.data import dataset_rows
from vlmhyperbench.report.explorer import write_explorer
from vlmhyperbench.report.explorer.pages import PageWriter
from vlmhyperbench.report.write import write_report
from vlmhyperbench.results import JudgeRecord, PairKey

THINK = "<think>the total is on the second line</think>INV-1005"


def load(path: Path, call: str):
    """The JSON argument of a data script `VLMHB.CALL(...);`."""
    text = path.read_text(encoding="utf-8")
    head = f"VLMHB.{call}("
    assert text.startswith(head) and text.rstrip().endswith(");")
    body = text[len(head) : text.rstrip().rindex(")")]
    if call == "chunk":
        body = body.split(",", 2)[2]
    return json.loads(body)


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    root = tmp_path_factory.mktemp("explorer")
    config = make_config(root, n=12, datasets=("docs-vqa", "docs-ocr"))
    run = write_run(
        root / "results",
        "r1",
        config,
        {"alpha": {1, 2}, "beta": {2}, "gamma": set()},
        datasets=("docs-vqa", "docs-ocr"),
        n=12,
        overrides={"beta": {5: THINK}},
        errors={"gamma": {7: "ServerError: 503 <b>overloaded</b>"}},
        perturbation="blur:2",
        perturbed_wrong={"alpha": {0}},
    )
    return run, config


def test_viewer_page_is_small_and_allows_only_its_own_script(explored):
    run, _ = explored
    html = (run.root / "samples.html").read_text(encoding="utf-8")
    assert len(html.encode()) < 200_000
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "http" not in csp
    script = re.search(r"<script data-base=\"samples/data\">(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp  # the inline viewer runs; an injected script would not
    assert html.count("<script") == 1 and "src=" not in script.split("\n", 1)[0]
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:|//)", html)


def test_index_has_every_sample_of_every_pair_with_its_scores(explored):
    run, _ = explored
    index = load(run.root / "samples" / "data" / "index.js", "index")
    labels = [s["label"] for s in index["systems"]]
    assert labels == ["alpha", "beta", "gamma", "alpha ~blur:2"]
    by_name = {d["name"]: d for d in index["datasets"]}
    assert set(by_name) == {"docs-vqa", "docs-ocr"}
    vqa = by_name["docs-vqa"]
    assert vqa["ids"] == [f"s{i:03d}" for i in range(12)]
    assert vqa["main"] == "anls" and vqa["metrics"][:2] == ["anls", "exact_match"]
    assert [index["systems"][g]["label"] for g in vqa["systems"]] == labels
    assert vqa["classes"] == ["invoice", "receipt", "letter"] and vqa["dc"][:4] == [0, 1, 2, 0]
    # the values are scores.parquet's, per system and sample
    scores = pl.read_parquet(run.root / "scores.parquet").filter(
        (pl.col("dataset") == "docs-vqa") & (pl.col("metric") == "anls")
    )
    anls = vqa["values"][vqa["metrics"].index("anls")]
    for k, g in enumerate(vqa["systems"]):
        system = index["systems"][g]
        mine = scores.filter(
            (pl.col("model") == system["model"])
            & (pl.col("perturbation").fill_null("") == system["perturbation"])
        ).sort("sample_id")
        assert anls[k] == pytest.approx(mine["value"].round(4).to_list())
    assert anls[0][1] == 0.0 and anls[0][3] == 1.0  # alpha is wrong on sample 1
    assert vqa["fail"][2][7] == 1 and sum(vqa["fail"][2]) == 1  # gamma's failed request
    assert all(v is not None and v > 0 for v in vqa["lat"][0])
    ocr = by_name["docs-ocr"]
    assert ocr["hib"][ocr["metrics"].index("cer")] is False
    assert ocr["thumbs"][0].startswith("samples/thumbs/")


def test_chunks_hold_answers_prompts_references_reasoning_and_errors(explored):
    run, config = explored
    index = load(run.root / "samples" / "data" / "index.js", "index")
    vqa = next(d for d in index["datasets"] if d["name"] == "docs-vqa")
    chunk = load(run.root / "samples" / "data" / vqa["dir"] / "c00000.js", "chunk")
    assert [r["id"] for r in chunk] == vqa["ids"]
    rec = chunk[5]
    assert rec["prompt"] == "Answer the question.\nQuestion: What is the number of document 5?"
    assert rec["question"] == "What is the number of document 5?"
    assert rec["references"] == [answer("docs-vqa", 5)]
    alpha, beta, gamma, _ = rec["answers"]
    assert alpha["answer"] == "INV-1005" and "raw" not in alpha
    # reasoning removed as the metrics removed it; the raw answer kept for the folded view
    assert beta["answer"] == "INV-1005" and beta["raw"] == THINK and beta["scores"]["anls"] == 1.0
    assert gamma["answer"] == "INV-1005"
    failed = chunk[7]["answers"][2]
    assert failed["error"] == "ServerError: 503 <b>overloaded</b>" and "answer" not in failed
    assert failed["scores"]["anls"] == 0.0
    assert {"latency_s", "ttft_s", "output_tokens", "attempts"} <= set(alpha)
    # the page: referenced where it lies (relative to the run folder), not copied nor inlined
    page = rec["pages"][0]
    assert (run.root / unquote(page["src"])).resolve() == (config / "data" / "images" / "page1.png").resolve()
    assert (run.root / page["thumb"]).is_file()


def test_thumbnails_are_made_once_per_page_and_kept(explored, tmp_path):
    run, _ = explored
    thumbs = sorted((run.root / "samples" / "thumbs").iterdir())
    assert len(thumbs) == 4  # 24 samples over 4 pages
    assert not any((run.root / "samples" / "pages").iterdir())  # pages that are files are not copied
    stamps = {p.name: p.stat().st_mtime_ns for p in thumbs}
    from PIL import Image

    with Image.open(thumbs[0]) as img:
        assert img.format == "JPEG" and max(img.size) <= 240
    manifest = run.read_manifest()
    scores = pl.read_parquet(run.root / "scores.parquet")
    made = write_explorer(run, manifest, scores, dataset_rows(run), {})
    assert made["thumbs"] == 0 and made["kept"] == 4 and made["samples"] == 24
    assert {p.name: p.stat().st_mtime_ns for p in (run.root / "samples" / "thumbs").iterdir()} == stamps


def test_pages_without_a_file_are_written_once(tmp_path):
    """Parquet cells and inline bytes become files under samples/pages, once per page."""
    from PIL import Image

    from vlmhyperbench.datasets import ImageRef

    buf = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buf, format="PNG")
    png = buf.getvalue()
    pl.DataFrame({"image": [{"bytes": png, "path": None}] * 2}).write_parquet(tmp_path / "d.parquet")
    writer = PageWriter(tmp_path / "run")
    one = writer.page(ImageRef(path=tmp_path / "d.parquet", row=1))
    same = writer.page(ImageRef(path=tmp_path / "d.parquet", row=1))
    inline = writer.page(ImageRef(data=png))
    broken = writer.page(ImageRef(path=tmp_path / "d.parquet", row=7))
    writer.finish()
    assert one is same and one.src.startswith("samples/pages/") and one.src.endswith(".png")
    assert (tmp_path / "run" / one.src).read_bytes() == png
    assert inline.src != one.src and (tmp_path / "run" / inline.src).is_file()
    assert broken.src is None and "row 7" in broken.error and broken.thumb is None
    assert writer.made == {"pages": 2, "thumbs": 2, "kept": 0, "failed": 1, "deferred": 0}
    again = PageWriter(tmp_path / "run")
    again.page(ImageRef(path=tmp_path / "d.parquet", row=1))
    again.finish()
    assert again.made["kept"] == 1 and again.made["pages"] == 0


def test_thumbnails_over_the_time_budget_are_left_to_the_next_report(tmp_path):
    """A page without a thumbnail yet is listed as the page itself; the next report makes the thumbnail."""
    from PIL import Image

    from vlmhyperbench.datasets import ImageRef

    Image.new("RGB", (300, 400), "white").save(tmp_path / "p.png")
    hurried = PageWriter(tmp_path / "run")
    page = hurried.page(ImageRef(path=tmp_path / "p.png"))
    hurried.finish(budget_s=-1)
    assert page.thumb is None and page.src == "../p.png" and hurried.made["deferred"] == 1
    later = PageWriter(tmp_path / "run")
    page = later.page(ImageRef(path=tmp_path / "p.png"))
    later.finish()
    assert later.made["thumbs"] == 1 and (tmp_path / "run" / page.thumb).is_file()


def test_judges_verdicts_and_their_disagreement_with_the_rule(tmp_path):
    """A judged pair: each judge's last verdict with its answer and reasoning, and `judge_rule` where the
    judge's grade and the rule metric decide differently."""
    from vlmhyperbench.inference.chat import Answer
    from vlmhyperbench.judges.verdict_journal import VerdictJournal

    config = make_config(tmp_path, n=6)
    run, manifest, scores, summaries, performance = build_run(
        tmp_path / "results", "j1", config, {"alpha": {1, 2}}, n=6
    )
    manifest.judges = {"judge1": JudgeRecord(name="judge1")}
    key = PairKey(model="alpha", dataset="docs-vqa")
    path = run.verdicts("judge1", key)
    path.parent.mkdir(parents=True)
    with VerdictJournal(path) as journal:
        for sid, raw, verdict, error in [
            ("s001", "<think>unknown is not INV-1001</think>GRADE: I", "I", None),  # agrees with anls 0
            ("s002", "<think>close enough</think>GRADE: C", "C", None),  # anls 0 but the judge says correct
            ("s003", None, None, "timeout"),
            ("s003", "GRADE: C", "C", None),  # asked again: the answered line counts
        ]:
            journal.append(
                Answer(sample_id=sid, prediction=raw, error=error, attempts=1),
                key=f"k-{sid}",
                kind="grade",
                attempt=1,
                prompt="p",
                images=False,
                judge="judge1",
                verdict=verdict,
                verdict_error=None,
            )
    frame = pl.concat(scores, how="diagonal_relaxed")
    judged = frame.filter(pl.col("metric") == "anls").with_columns(pl.lit("anls|judge").alias("metric"))
    write_explorer(run, manifest, pl.concat([frame, judged], how="diagonal_relaxed"), {}, {})
    index = load(run.root / "samples" / "data" / "index.js", "index")
    vqa = index["datasets"][0]
    assert vqa["judged"] is True
    assert vqa["jr"][0] == [None, 0, 1, 0, None, None]
    chunk = load(run.root / "samples" / "data" / "d0" / "c00000.js", "chunk")
    [j] = chunk[2]["answers"][0]["judges"]
    assert j == {
        "judge": "judge1",
        "kind": "grade",
        "verdict": "C",
        "answer": "GRADE: C",
        "raw": "<think>close enough</think>GRADE: C",
        "verdict_error": None,
        "error": None,
    }
    assert chunk[3]["answers"][0]["judges"][0]["verdict"] == "C"


def test_report_links_into_the_explorer_and_says_when_every_sample_is_perfect(tmp_path):
    config = make_config(tmp_path, n=8)
    mixed = write_run(tmp_path / "results", "mixed", config, {"alpha": {1}, "beta": set()}, n=8)
    html = (mixed.root / "report.html").read_text(encoding="utf-8")
    worst = html[html.index('id="worst"') : html.index('id="failures"')]
    assert 'href="samples.html#dataset=docs-vqa&amp;sample=s001&amp;models=alpha"' in worst
    assert "<img" not in worst and "<table" not in worst
    board = html[html.index('id="leaderboard"') : html.index('id="pareto"')]
    assert 'href="samples.html#dataset=docs-vqa&amp;models=beta"' in board
    perfect = write_run(tmp_path / "results", "perfect", config, {"alpha": set()}, n=8)
    html = (perfect.root / "report.html").read_text(encoding="utf-8")
    worst = html[html.index('id="worst"') : html.index('id="failures"')]
    assert "every sample is perfect (8 answers scored 1.000)" in worst
    assert "No per-sample scores" not in worst


def test_a_failed_explorer_leaves_the_report_standing(tmp_path, monkeypatch, caplog):
    config = make_config(tmp_path, n=4)
    run, manifest, scores, summaries, performance = build_run(
        tmp_path / "results", "r", config, {"alpha": {1}}, n=4
    )

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("vlmhyperbench.report.explorer.write_explorer", broken)
    write_report(run, manifest, scores, summaries, performance, print_table=False)
    html = (run.root / "report.html").read_text(encoding="utf-8")
    assert "samples.html" not in html and 'id="worst"' in html
    assert "samples.html: not written (OSError: disk full)" in caplog.text
