"""Which samples of a pair its judges are asked about, and with which prompt.

Rules first: a sample is sent to the judges for `grade` when a judge_correct metric scores it (every
answered sample), or when an `M|judge[:T]` metric scores it and M fails the threshold there (EvalScope's
recall: the judge sees only the rule's misses). It is sent for `extract` when a judge_extract metric
scores it (every answered sample). A sample whose request failed is never sent: the model gave no answer,
which scores 0 (and an empty extraction). The prompt is the prompts.csv collection's template for the
sample's doc_class and question_type (collection `judge` for grade, `judge_extract` for extract), else the
built-in one (judges.asks), rendered over the sample with its answer (reasoning removed), references,
question and the model's prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

import metrics
from vlmhyperbench.config import Pair, PromptRow, pick_template, render_prompt
from vlmhyperbench.inference import answer_table
from vlmhyperbench.judges.asks import JUDGE_ASKS, ask_key

JUDGE_COLUMNS = ("doc_class", "question_type", "question", "prompt", "error", "classes", "fields")
"""The prediction columns a judge prompt and the counts read (beyond the answer and references)."""


@dataclass(frozen=True)
class Ask:
    """One question to a judge about one sample."""

    key: str
    """ask_key(kind, template, context, images): what a stored verdict is looked up by."""
    sample_id: str
    kind: str
    """grade or extract (judges.asks.JUDGE_ASKS)."""
    template: str
    context: dict = field(repr=False, hash=False, compare=False)
    """What the template is rendered over."""
    images: bool = False

    @property
    def prompt(self) -> str:
        """The prompt the judge is sent (rendered now: scoring needs only the key)."""
        return render_prompt(self.template, **self.context)


@dataclass
class PairJudging:
    """A pair's answers as metrics see them, what its judges are asked, and the rules' values."""

    table: pl.DataFrame
    """answer_table of the predictions with JUDGE_COLUMNS: one row per sample sent to the model."""
    asks: list[Ask]
    failed: set[str]
    """Samples whose request failed: never sent to a judge."""
    rule_values: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Rule metric -> its per-sample values (sample_id, value): the bases of `M|judge` and the pair's own
    rule metrics (what agreement compares the judges with)."""

    def ask_of(self, sample_id: str, kind: str) -> Ask | None:
        return self._index.get((sample_id, kind))

    def __post_init__(self) -> None:
        self._index = {(a.sample_id, a.kind): a for a in self.asks}


def rule_metric_names(pair: Pair) -> list[str]:
    """The rule metrics whose per-sample values the judging needs: the bases of `M|judge` and the pair's
    rule metrics (in the pair's order, each once)."""
    judged = pair.judged_metrics()
    names = [j.base for j in judged if j.mode == "recall"]
    names += [n for n in pair.metric_names() if not metrics.is_judged(n)]
    return list(dict.fromkeys(names))


def plan_pair(pair: Pair, predictions: pl.DataFrame, prompts: dict[str, list[PromptRow]]) -> PairJudging:
    """What PAIR's judges are asked about its PREDICTIONS (see the module docstring); PROMPTS: the config's
    prompts.csv collections."""
    table = answer_table(predictions, columns=JUDGE_COLUMNS, reasoning=pair.reasoning_tags)
    failed = (
        set(table.filter(pl.col("error").is_not_null())["sample_id"].cast(pl.String).to_list())
        if ("error" in table.columns)
        else set()
    )
    rule_values = {
        name: metrics.sample_rows(metrics.score(name, table)).select("sample_id", "value")
        for name in rule_metric_names(pair)
    }
    judged = pair.judged_metrics()
    ids = table["sample_id"].cast(pl.String).to_list()
    wanted: dict[str, set[str]] = {"grade": set(), "extract": set()}
    for j in judged:
        if j.mode == "correct":
            wanted["grade"].update(ids)
        elif j.mode == "extract":
            wanted["extract"].update(ids)
        else:
            spec = metrics.get_metric(j.base)
            passed = rule_values[j.base].select(
                "sample_id",
                metrics.rule_passed(pl.col("value"), spec, metrics.threshold_of(j, spec)).alias("p"),
            )
            wanted["grade"].update(passed.filter(~pl.col("p"))["sample_id"].to_list())
    for kind in wanted:
        wanted[kind] -= failed
    asks: list[Ask] = []
    if wanted["grade"] or wanted["extract"]:
        asks = _render(pair, table, wanted, prompts)
    return PairJudging(table=table, asks=asks, failed=failed, rule_values=rule_values)


def _render(
    pair: Pair, table: pl.DataFrame, wanted: dict[str, set[str]], prompts: dict[str, list[PromptRow]]
) -> list[Ask]:
    task = pair.dataset.task
    images = pair.judge_images
    asks = []
    for row in table.iter_rows(named=True):
        sid = str(row["sample_id"])
        for kind, ids in wanted.items():
            if sid not in ids:
                continue
            ask = JUDGE_ASKS.get(kind)
            template = pick_template(
                task,
                prompts.get(ask.collection),
                row.get("doc_class") or "",
                row.get("question_type") or "",
                ask.template,
            )
            fields = row.get("fields")
            fields = json.loads(fields) if isinstance(fields, str) else fields
            context = {
                "question": row.get("question") or row.get("prompt") or "",
                "doc_class": row.get("doc_class") or "",
                "question_type": row.get("question_type") or "",
                "classes": list(row.get("classes") or ()),
                "fields": list(fields) if fields else [],
                "answer": row["prediction"],
                "references": list(row.get("references") or []),
                "prompt": row.get("prompt") or "",
            }
            asks.append(Ask(ask_key(kind, template, context, images), sid, kind, template, context, images))
    return asks
