"""judging: a judge model asked its questions about the pairs it judges, every answer journaled as it
arrives; and the scoring of a judged pair once its judges are done.

Plain asyncio inside one task per judge, as inference is: one stream of requests over all the pairs the
judge judges, at the judge's own concurrency, then one more round for the answers that could not be read
(each asked once more, never twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import metrics
from tasks.inference import load_samples, sample_images
from tasks.progress import PairProgress
from vlmhb_core.settings import get_settings
from vlmhyperbench.config import Catalog, Pair
from vlmhyperbench.inference import Answer, Endpoint, RequestItem, run_requests
from vlmhyperbench.judges import (
    Ask,
    Unparseable,
    VerdictJournal,
    agreement_rows,
    disagreements,
    judge_failure,
    judge_performance,
    judging_counts,
    missing_verdicts,
    plan_pair,
    read_verdict,
    verdict_columns,
)
from vlmhyperbench.results import RunFolder
from vlmhyperbench.scoring import ScorerSetup, score_pair


@dataclass
class JudgeWork:
    """What one judge still has to ask about one pair."""

    pair: Pair
    journal: Path
    todo: list[tuple[Ask, int]]
    """(question, attempt): attempt 2 for a question whose last answer could not be read."""
    images: dict[str, tuple] = field(default_factory=dict)
    """Sample id -> its images, for the questions asked with them."""


@dataclass
class JudgeStats:
    asked: int = 0
    request_errors: int = 0
    unparseable: int = 0
    reasked: int = 0
    stopped_early: str | None = None


def plan_work(
    catalog: Catalog, judge: str, pairs: list[Pair], run: RunFolder, *, ask_all: bool = False
) -> list[JudgeWork]:
    """For each pair JUDGE judges: the questions whose verdict its journal lacks (ASK_ALL: every one)."""
    work = []
    for pair in pairs:
        predictions = pl.read_parquet(run.predictions(pair.key))
        judging = plan_pair(pair, predictions, catalog.prompts)
        journal = VerdictJournal(run.verdicts(judge, pair.key))
        states = journal.states()
        todo = []
        for ask in judging.asks:
            state = states.get(ask.key)
            if ask_all:
                todo.append((ask, 1))
            elif state is None or not state.final:
                todo.append((ask, state.next_attempt if state is not None else 1))
        images = {}
        if todo and pair.judge_images:
            wanted = {a.sample_id for a, _ in todo}
            images = {s.id: sample_images(s, pair) for s in load_samples(catalog, pair) if s.id in wanted}
        work.append(JudgeWork(pair, journal.path, todo, images))
    return work


@task(name="judging", task_run_name="judging-{judge}", cache_policy=NO_CACHE)
async def judging(
    judge: str, endpoint: Endpoint, work: list[JudgeWork], *, concurrency: int, timeout_s: float
) -> JudgeStats:
    """Asks JUDGE every question of WORK, then once more those whose answer could not be read; every answer
    goes to its pair's verdict journal as it arrives."""
    logger = get_run_logger()
    settings = get_settings()
    stats = JudgeStats()
    journals = [VerdictJournal(w.journal) for w in work]
    total = sum(len(w.todo) for w in work)
    progress = PairProgress(f"judge {judge}", total=total)
    await progress.start()
    again: list[tuple[int, Ask, int]] = []

    def items(questions: list[tuple[int, Ask, int]], again_round: bool) -> Iterator[RequestItem]:
        for index, ask, attempt in questions:
            images = work[index].images.get(ask.sample_id, ()) if ask.images else ()
            prompt = ask.prompt  # rendered here, one at a time, as its slot frees
            meta = {"index": index, "ask": ask, "attempt": attempt, "again": again_round}
            yield RequestItem(
                sample_id=ask.sample_id,
                prompt=prompt,
                images=images,
                followups=ask.followups,
                body=ask.spec.body or None,
                meta={**meta, "prompt": ask.transcript(prompt)},
            )

    def on_answer(answer: Answer) -> None:
        index, ask, attempt = answer.meta["index"], answer.meta["ask"], answer.meta["attempt"]
        verdict = problem = None
        if answer.error is None:
            try:
                verdict = read_verdict(ask.kind, answer.prediction, ask.context)
            except Unparseable as exc:
                problem = f"unparseable: {exc}"
        else:
            stats.request_errors += 1
        journals[index].append(
            answer,
            key=ask.key,
            kind=ask.kind,
            attempt=attempt,
            prompt=answer.meta["prompt"],
            images=ask.images,
            judge=judge,
            verdict=verdict,
            verdict_error=problem,
        )
        stats.asked += 1
        if attempt == 2:
            stats.reasked += 1
        if problem is not None:
            stats.unparseable += 1
            if attempt == 1:
                again.append((index, ask, 2))
        if not answer.meta["again"]:
            progress.advance()

    first = [(i, ask, attempt) for i, w in enumerate(work) for ask, attempt in w.todo]
    with ExitStack() as open_journals:
        for journal in journals:
            open_journals.enter_context(journal)
        try:
            for again_round, questions in ((False, first), (True, again)):
                if not questions or stats.stopped_early:
                    continue
                if again_round:
                    logger.info("judge %s: asking %d unparseable answers once more", judge, len(questions))
                run = await run_requests(
                    endpoint,
                    items(list(questions), again_round),
                    concurrency=concurrency,
                    timeout_s=timeout_s,
                    max_error_rate=settings.max_error_rate,
                    on_answer=on_answer,
                )
                stats.stopped_early = run.stopped_early
        finally:
            await progress.close()
    return stats


def with_judges(summary: pl.DataFrame, pair: Pair, catalog: Catalog) -> pl.DataFrame:
    """SUMMARY with a `judges` column naming, on each judged metric's rows, the judges that decided it and
    their models (`j1=gpt-4o-2024-05-13`): which judge scored the run."""
    judges = " ".join(f"{j}={catalog.models[j].model}" for j in pair.judges)
    judged = [name for name in summary.get_column("metric").unique().to_list() if metrics.is_judged(name)]
    return summary.with_columns(
        pl.when(pl.col("metric").is_in(judged)).then(pl.lit(judges)).otherwise(None).alias("judges")
    )


@dataclass
class JudgedScores:
    """What scoring a judged pair found: its judging counts, the samples without a verdict (with each
    judge's answer), and why the pair fails (None: its judged metrics stand)."""

    counts: pl.DataFrame
    missing: pl.DataFrame
    failure: str | None

    @property
    def no_verdict(self) -> int:
        return int(self.counts["no_verdict"].sum()) if self.counts.height else 0

    def judges_without_verdicts(self) -> str:
        """`j1 8, j2 1`: each judge and the samples it gave no verdict on."""
        if not self.missing.height:
            return ""
        own = self.missing.filter(pl.col("verdict").is_null()).group_by("judge", maintain_order=True).len()
        return ", ".join(f"{judge} {n}" for judge, n in own.iter_rows())


@task(name="judged-scoring", task_run_name="scoring-{pair.model.name}-{pair.key.stem}", cache_policy=NO_CACHE)
async def judged_scoring(
    pair: Pair, run: RunFolder, catalog: Catalog, env: str | None = None
) -> JudgedScores:
    """Scores a judged pair once its judges are done (in a thread, as scoring does); see score_judged_pair."""
    return await asyncio.to_thread(score_judged_pair, pair, run, catalog, env)


def score_judged_pair(pair: Pair, run: RunFolder, catalog: Catalog, env: str | None = None) -> JudgedScores:
    """Scores a judged pair from its predictions and its judges' journals, and writes its scores, summary and
    judge figures (how many samples the judges saw, agreement, disagreements, the judges' cost and speed,
    the samples without a verdict). A scorer's metrics run in its environment (built with ENV when given),
    as for any pair. Returns the judging counts, the samples without a verdict and, when more than half of a
    judged metric's samples have none, why the pair fails (judges.judge_failure). (flows.rescore calls it
    without a task.)"""
    key = pair.key
    predictions = pl.read_parquet(run.predictions(key))
    judging_plan = plan_pair(pair, predictions, catalog.prompts)
    states, performance, lines = {}, [], {}
    for judge in pair.judges:
        journal = VerdictJournal(run.verdicts(judge, key))
        lines[judge] = journal.load()
        states[judge] = journal.states(lines[judge])
        performance.append(judge_performance(judge, pair, lines[judge], catalog.models[judge].concurrency))
    verdicts = verdict_columns(judging_plan, list(pair.judges), states)
    keys = dict(zip(("model", "dataset", "perturbation"), key.as_tuple()))
    scored = score_pair(
        predictions,
        keys,
        pair.metric_names(),
        list(pair.aggregators),
        ScorerSetup(run=run, key=key, env=env),
        pair.dataset.benchmark,
        pair.reasoning_tags,
        verdicts.select("sample_id", "judge_grade", "judge_extraction"),
    )
    counts = judging_counts(pair, judging_plan, verdicts, scored.scores)
    missing = missing_verdicts(pair, judging_plan, verdicts, states, lines)
    run.save_scored(key, scored.scores, with_judges(scored.summary, pair, catalog), None)
    run.save_judging(
        key,
        {
            "judging": counts,
            "agreement": agreement_rows(pair, judging_plan, verdicts),
            "disagreements": disagreements(pair, judging_plan, verdicts),
            "performance": pl.DataFrame(performance),
            "missing": missing,
        },
    )
    return JudgedScores(counts, missing, judge_failure(pair, counts, missing))
