"""Which samples of a pair its judges are asked about, and with which prompt.

Rules first: a sample is sent to the judges for `grade` when a judge_correct metric scores it (every
answered sample), or when an `M|judge[:T]` metric scores it and M fails the threshold there (EvalScope's
recall: the judge sees only the rule's misses). It is sent for `extract` when a judge_extract metric
scores it (every answered sample); a verdict metric (a judge-graded benchmark's) sends every answered sample
for the verdict it reads. A sample whose request failed is never sent: the model gave no answer,
which scores 0 (and an empty extraction). The prompt is the prompts.csv collection's template for the
sample's doc_class and question_type (collection `judge` for grade, `judge_extract` for extract), else the
built-in one (judges.asks), rendered over the sample with its answer (reasoning removed), references,
question and the model's prompt. A pair of a judge-graded benchmark asks the benchmark's own questions
instead (Benchmark.judge_asks): their prompts come from the official code, and one question may be about
several samples (a batch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

import metrics
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.config import Pair, PromptRow, pick_template, render_prompt
from vlmhyperbench.inference import answer_table
from vlmhyperbench.judges.asks import JUDGE_ASKS, JudgeAsk, ask_key

JUDGE_COLUMNS = (
    "doc_class",
    "question_type",
    "question",
    "prompt",
    "error",
    "classes",
    "fields",
    "annotation",
)
"""The prediction columns a judge prompt and the counts read (beyond the answer and references)."""
ROLES = ("grade", "extract")


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
    members: tuple[str, ...] = ()
    """A batched question: the samples it is about, in order (its verdict is a list of theirs)."""

    @property
    def samples(self) -> tuple[str, ...]:
        return self.members or (self.sample_id,)

    @property
    def spec(self) -> JudgeAsk:
        return JUDGE_ASKS.get(self.kind)

    @property
    def prompt(self) -> str:
        """The prompt the judge is sent (rendered now: scoring needs only the key)."""
        spec = self.spec
        return spec.render(self.context) if spec.render else render_prompt(self.template, **self.context)

    @property
    def followups(self) -> tuple[tuple[str, str], ...]:
        spec = self.spec
        return spec.followups(self.context) if spec.followups else ()

    def transcript(self, prompt: str) -> str:
        """PROMPT and the messages that follow it, as the journal records what was sent."""
        return prompt + "".join(f"\n\n[{role}]\n{text}" for role, text in self.followups)


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

    def ask_of(self, sample_id: str, role: str) -> Ask | None:
        """The question asked about SAMPLE_ID for a ROLE verdict (grade or extract), if any."""
        found = self._index.get((sample_id, role))
        return found[0] if found is not None else None

    def verdict_of(self, states: dict, sample_id: str, role: str) -> str | None:
        """SAMPLE_ID's ROLE verdict in a judge's journal STATES (its part of a batched one); None: none."""
        from vlmhyperbench.judges.asks import member_verdict

        found = self._index.get((sample_id, role))
        if found is None:
            return None
        ask, position = found
        state = states.get(ask.key)
        verdict = state.verdict if state is not None else None
        return member_verdict(verdict, position) if ask.members else verdict

    def __post_init__(self) -> None:
        self._index = {
            (sid, JUDGE_ASKS.get(a.kind).verdict): (a, i)
            for a in self.asks
            for i, sid in enumerate(a.samples)
        }


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
        if j.mode in ("correct", "extract", "verdict"):
            wanted[j.asks].update(ids)
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


def ask_kinds(pair: Pair) -> dict[str, str]:
    """Verdict role (grade, extract) -> the JUDGE_ASKS question PAIR's judges are asked for it: its
    benchmark's own, else the built-in one of that name."""
    benchmark = BENCHMARKS.get(pair.dataset.benchmark) if pair.dataset.benchmark else None
    own = benchmark.judge_questions if benchmark is not None else {}
    return {role: own.get(role, role) for role in ROLES}


def _render(
    pair: Pair, table: pl.DataFrame, wanted: dict[str, set[str]], prompts: dict[str, list[PromptRow]]
) -> list[Ask]:
    kinds = ask_kinds(pair)
    asks = []
    for role, ids in wanted.items():
        spec = JUDGE_ASKS.get(kinds[role])
        if ids and spec.plan is not None:
            asks += _planned(spec, table, ids, pair.judge_images and spec.images)
    generic = {role: ids for role, ids in wanted.items() if JUDGE_ASKS.get(kinds[role]).plan is None}
    asks += _per_sample(pair, table, generic, kinds, prompts)
    return asks


def _planned(spec: JudgeAsk, table: pl.DataFrame, ids: set[str], images: bool) -> list[Ask]:
    """A benchmark's questions: its plan over every answer of the pair (a batch keeps its place when one of
    its samples is not asked), each sample in `ids` asked once."""
    rows = [
        {**row, "sample_id": str(row["sample_id"]), "asked": str(row["sample_id"]) in ids}
        for row in table.iter_rows(named=True)
    ]
    asks = []
    for q in spec.plan(rows):
        if not q.members:
            continue
        key = ask_key(spec.name, spec.template, q.context, images)
        members = q.members if q.batch else ()
        asks.append(Ask(key, q.members[0], spec.name, spec.template, q.context, images, members))
    return asks


def _per_sample(
    pair: Pair,
    table: pl.DataFrame,
    wanted: dict[str, set[str]],
    kinds: dict[str, str],
    prompts: dict[str, list[PromptRow]],
) -> list[Ask]:
    task = pair.dataset.task
    images = pair.judge_images
    asks = []
    for row in table.iter_rows(named=True):
        sid = str(row["sample_id"])
        for role, ids in wanted.items():
            if sid not in ids:
                continue
            ask = JUDGE_ASKS.get(kinds[role])
            kind = ask.name
            template = pick_template(
                task,
                prompts.get(ask.collection or ""),
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
