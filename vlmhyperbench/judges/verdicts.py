"""From the judges' journals to what the judged metrics read, and to the figures a report shows of them.

Verdicts of one sample, several judges (`majority`): the verdict that more of the judges that gave one
gave than any other; a tie (or no judge with a verdict) is no verdict. An extraction's votes are compared
after normalisation (lower case, whitespace collapsed, as for ANLS); the winner is its first judge's text.

`verdict_columns` is the frame the judged metrics join to the answers: sample_id, judge_grade (1.0 C,
0.0 I, null: no verdict), judge_extraction (text; null: no verdict), with a sample whose request failed
at 0.0 and "" (never asked), and each judge's own grade (`grade:JUDGE`, for agreement).

`judging_counts`, one row per judged metric of the pair (what "how many samples the judge saw" means):

    samples         the pair's scored samples (those left out for a data reason are not); for a verdict
                    metric, those it scores (CharXiv's reasoning figure: the reasoning questions)
    rule_passed     METRIC|judge: samples where METRIC passed its threshold, scored 1 without a judge
    answer_failed   samples the rule did not pass whose request failed: scored 0, never sent
    judged          samples sent to the judges = samples - rule_passed - answer_failed
    judged_correct  of those, majority verdict C (grade metrics)
    judged_incorrect  majority verdict I (grade metrics)
    no_verdict      judged samples without a verdict (unparseable twice, request failed, tie, or not asked
                    yet in a rescore): left out of the metric, never counted wrong
    value           the metric's value: (rule_passed + judged_correct) / (samples - no_verdict) for
                    METRIC|judge and judge_correct (rule_passed = 0); for judge_extract:METRIC, METRIC of
                    the extractions over samples - no_verdict

`agreement_rows`: each judge (and their majority, when several) against each rule metric of the pair, and
each two judges against each other, over the samples both rated (a sample the judge has no verdict for, or
that was never sent, is not rated): the 2x2 table, the share agreeing and Cohen's kappa (metrics.agreement).
A rule metric says correct where it passes its threshold (the T of the pair's `METRIC|judge:T`, else full
marks). Where the judges saw only the rule's misses (METRIC|judge alone) the rule says incorrect of every
rated sample, and kappa is 0 or undefined.

`disagreements`: of the verdict that scores (the majority, or the one judge) against each rule metric, the
samples where their decisions differ, ranked by the gap |verdict - s| with s the rule's value clipped to
[0, 1] (1 - that where lower is better), the largest first, then by sample_id.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

import metrics
from vlmhyperbench.config import Pair
from vlmhyperbench.inference import performance_row
from vlmhyperbench.judges.selection import PairJudging
from vlmhyperbench.judges.verdict_journal import KeyState

MAJORITY = "majority"
GRADE_VALUE = {"C": 1.0, "I": 0.0}
DISAGREEMENTS_PER_METRIC = 10


def majority(votes: list[str | None], normalise=lambda v: v) -> str | None:
    """The vote more voters gave than any other (None votes left out); None on a tie or without votes."""
    given = [v for v in votes if v is not None]
    if not given:
        return None
    counts = Counter(normalise(v) for v in given).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    winner = counts[0][0]
    return next(v for v in given if normalise(v) == winner)


def grade_column(judge: str) -> str:
    return f"grade:{judge}"


def verdict_columns(
    judging: PairJudging, judges: list[str], states: dict[str, dict[str, KeyState]]
) -> pl.DataFrame:
    """sample_id, judge_grade, judge_extraction, grade:JUDGE... (see the module docstring); STATES: each
    judge's journal states (VerdictJournal.states)."""
    ids = judging.table["sample_id"].cast(pl.String).to_list()
    grade, extraction = [], []
    own: dict[str, list[float | None]] = {j: [] for j in judges}
    for sid in ids:
        failed = sid in judging.failed
        g_votes = [judging.verdict_of(states[j], sid, "grade") for j in judges]
        for j, vote in zip(judges, g_votes):
            own[j].append(GRADE_VALUE.get(vote) if vote is not None else None)
        g = majority(g_votes)
        grade.append(0.0 if failed else (GRADE_VALUE[g] if g is not None else None))
        e = majority([judging.verdict_of(states[j], sid, "extract") for j in judges], metrics.normalize)
        extraction.append("" if failed else e)
    return pl.DataFrame(
        {
            "sample_id": pl.Series(ids, dtype=pl.String),
            metrics.JUDGE_GRADE: pl.Series(grade, dtype=pl.Float64),
            metrics.JUDGE_EXTRACTION: pl.Series(extraction, dtype=pl.String),
            **{grade_column(j): pl.Series(own[j], dtype=pl.Float64) for j in judges},
        }
    )


def _passed(judging: PairJudging, name: str, threshold: float) -> pl.DataFrame:
    """sample_id, passed: where rule metric NAME passes THRESHOLD."""
    spec = metrics.get_metric(name)
    return judging.rule_values[name].select(
        "sample_id", metrics.rule_passed(pl.col("value"), spec, threshold).alias("passed")
    )


def judging_counts(
    pair: Pair, judging: PairJudging, verdicts: pl.DataFrame, scores: pl.DataFrame
) -> pl.DataFrame:
    """One row per judged metric of PAIR (see the module docstring); SCORES: the pair's scores."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    samples = judging.table.height
    failed = pl.col("sample_id").is_in(list(judging.failed))
    rows = []
    for j in pair.judged_metrics():
        frame = verdicts
        rule_passed = 0
        scored = samples
        if j.mode == "recall":
            spec = metrics.get_metric(j.base)
            passed = _passed(judging, j.base, metrics.threshold_of(j, spec))
            frame = verdicts.join(passed, on="sample_id", how="left").filter(
                ~pl.col("passed").fill_null(False)
            )
            rule_passed = samples - frame.height
        elif j.mode == "verdict":  # a benchmark's figure over some of the samples (CharXiv's reasoning ones)
            frame = verdicts.filter(pl.col("sample_id").is_in(_scope(j.name, judging, verdicts)))
            scored = frame.height
        answer_failed = frame.filter(failed).height
        asked = frame.filter(~failed)
        column = metrics.JUDGE_EXTRACTION if j.asks == "extract" else metrics.JUDGE_GRADE
        no_verdict = asked.filter(pl.col(column).is_null()).height
        correct = incorrect = None
        if j.asks != "extract":
            correct = asked.filter(pl.col(column) == 1.0).height
            incorrect = asked.filter(pl.col(column) == 0.0).height
        rows.append(
            {
                **keys,
                "metric": j.name,
                "judges": " ".join(pair.judges),
                "samples": scored,
                "rule_passed": rule_passed,
                "answer_failed": answer_failed,
                "judged": asked.height,
                "judged_correct": correct,
                "judged_incorrect": incorrect,
                "no_verdict": no_verdict,
                "value": _value(scores.filter(pl.col("metric") == j.name)),
            }
        )
    return pl.DataFrame(rows, schema=JUDGING_SCHEMA)


def _scope(name: str, judging: PairJudging, verdicts: pl.DataFrame) -> list[str]:
    """The samples verdict metric NAME scores when each has a verdict (its rows with every verdict given)."""
    filled = (
        judging.table.with_columns(pl.col("sample_id").cast(pl.String))
        .join(
            verdicts.select("sample_id", metrics.JUDGE_GRADE, metrics.JUDGE_EXTRACTION),
            on="sample_id",
            how="left",
        )
        .with_columns(
            pl.col(metrics.JUDGE_GRADE).fill_null(0.0), pl.col(metrics.JUDGE_EXTRACTION).fill_null("")
        )
    )
    return metrics.sample_rows(metrics.score(name, filled)).get_column("sample_id").unique().to_list()


def _value(rows: pl.DataFrame) -> float | None:
    """The metric's value over its score rows (the `general` aggregate, without an interval)."""
    if not rows.height:
        return None
    samples = rows.select([c for c in ("model", "dataset", "perturbation", "sample_id") if c in rows.columns])
    summary = metrics.summarize(rows, samples.unique(), ["general"], n_boot=0)
    return float(summary["value"][0]) if summary.height else None


JUDGING_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "metric": pl.String,
    "judges": pl.String,
    "samples": pl.Int64,
    "rule_passed": pl.Int64,
    "answer_failed": pl.Int64,
    "judged": pl.Int64,
    "judged_correct": pl.Int64,
    "judged_incorrect": pl.Int64,
    "no_verdict": pl.Int64,
    "value": pl.Float64,
}
AGREEMENT_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "judge": pl.String,
    "versus": pl.String,
    "versus_kind": pl.String,
    "threshold": pl.Float64,
    "n": pl.Int64,
    "agree": pl.Float64,
    "kappa": pl.Float64,
    "both_correct": pl.Int64,
    "both_incorrect": pl.Int64,
    "only_judge_correct": pl.Int64,
    "only_versus_correct": pl.Int64,
}
DISAGREEMENT_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "perturbation": pl.String,
    "judge": pl.String,
    "metric": pl.String,
    "sample_id": pl.String,
    "rule_value": pl.Float64,
    "rule_passed": pl.Boolean,
    "verdict": pl.String,
    "gap": pl.Float64,
}


def rule_thresholds(pair: Pair) -> dict[str, float]:
    """Each rule metric of PAIR -> the value from which it says correct: the T of the pair's first
    `METRIC|judge:T`, else full marks."""
    out: dict[str, float] = {}
    recall = {j.base: j for j in pair.judged_metrics() if j.mode == "recall"}
    for name in pair.metric_names():
        if metrics.is_judged(name):
            continue
        out[name] = metrics.threshold_of(recall.get(name), metrics.get_metric(name))
    return out


def _raters(pair: Pair, verdicts: pl.DataFrame) -> dict[str, str]:
    """Rater name -> its grade column: each judge, and their majority when several."""
    raters = {j: grade_column(j) for j in pair.judges}
    if len(pair.judges) > 1:
        raters[MAJORITY] = "_majority"
    return raters


def agreement_rows(pair: Pair, judging: PairJudging, verdicts: pl.DataFrame) -> pl.DataFrame:
    """Judge-versus-rule and judge-versus-judge agreement of PAIR (see the module docstring)."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    frame = _rated(judging, verdicts)
    raters = _raters(pair, verdicts)
    thresholds = rule_thresholds(pair)
    rows = []
    for rater, column in raters.items():
        for name, threshold in thresholds.items():
            both = frame.join(_passed(judging, name, threshold), on="sample_id", how="inner").filter(
                pl.col(column).is_not_null() & pl.col("passed").is_not_null()
            )
            a = metrics.agreement(both[column].to_numpy() == 1.0, both["passed"].to_numpy())
            rows.append(_agreement_row(keys, rater, name, "rule", threshold, a))
    judges = list(pair.judges)
    for i, first in enumerate(judges):
        for second in judges[i + 1 :]:
            a_col, b_col = grade_column(first), grade_column(second)
            both = frame.filter(pl.col(a_col).is_not_null() & pl.col(b_col).is_not_null())
            a = metrics.agreement(both[a_col].to_numpy() == 1.0, both[b_col].to_numpy() == 1.0)
            rows.append(_agreement_row(keys, first, second, "judge", None, a))
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA)


def _rated(judging: PairJudging, verdicts: pl.DataFrame) -> pl.DataFrame:
    """The verdicts with the majority column as raters see it: a failed request (never asked) is not rated."""
    failed = pl.col("sample_id").is_in(list(judging.failed))
    return verdicts.with_columns(
        pl.when(failed).then(None).otherwise(pl.col(metrics.JUDGE_GRADE)).alias("_majority")
    )


def _agreement_row(keys: dict, judge: str, versus: str, kind: str, threshold, a) -> dict:
    return {
        **keys,
        "judge": judge,
        "versus": versus,
        "versus_kind": kind,
        "threshold": threshold,
        "n": a.n,
        "agree": a.agree,
        "kappa": a.kappa,
        "both_correct": a.both_correct,
        "both_incorrect": a.both_incorrect,
        "only_judge_correct": a.only_a_correct,
        "only_versus_correct": a.only_b_correct,
    }


def disagreements(
    pair: Pair, judging: PairJudging, verdicts: pl.DataFrame, per_metric: int = DISAGREEMENTS_PER_METRIC
) -> pl.DataFrame:
    """The samples where the scoring verdict and each rule metric disagree most (module docstring)."""
    keys = dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple()))
    rater = MAJORITY if len(pair.judges) > 1 else pair.judges[0]
    frame = _rated(judging, verdicts).filter(pl.col("_majority").is_not_null())
    parts = []
    for name, threshold in rule_thresholds(pair).items():
        spec = metrics.get_metric(name)
        clipped = pl.col("value").clip(0.0, 1.0)
        s = clipped if spec.higher_is_better else 1.0 - clipped
        rows = (
            frame.join(judging.rule_values[name], on="sample_id", how="inner")
            .with_columns(
                metrics.rule_passed(pl.col("value"), spec, threshold).alias("rule_passed"),
                (pl.col("_majority") - s.fill_null(0.0)).abs().alias("gap"),
            )
            .filter(pl.col("rule_passed") != (pl.col("_majority") == 1.0))
            .sort(["gap", "sample_id"], descending=[True, False])
            .head(per_metric)
        )
        parts.append(
            rows.select(
                *[pl.lit(v, pl.String).alias(k) for k, v in keys.items()],
                pl.lit(rater, pl.String).alias("judge"),
                pl.lit(name, pl.String).alias("metric"),
                "sample_id",
                pl.col("value").alias("rule_value"),
                "rule_passed",
                pl.when(pl.col("_majority") == 1.0).then(pl.lit("C")).otherwise(pl.lit("I")).alias("verdict"),
                "gap",
            )
        )
    if not parts:
        return pl.DataFrame(schema=DISAGREEMENT_SCHEMA)
    return pl.concat(parts, how="vertical_relaxed").cast(DISAGREEMENT_SCHEMA)


def judge_performance(judge: str, pair: Pair, lines: pl.DataFrame, concurrency: int) -> dict:
    """The judge's cost and speed on PAIR, from every line of its verdict journal (each line is one request:
    re-asks and resumes included): requests, request errors, unparseable answers, re-asks, latency and TTFT
    percentiles, requests/s and tokens (prompt and output)."""
    row = performance_row(lines, concurrency=concurrency)
    answered = lines.filter(pl.col("error").is_null())
    return {
        "judge": judge,
        **dict(zip(("model", "dataset", "perturbation"), pair.key.as_tuple())),
        "requests": lines.height,
        "request_errors": lines.height - answered.height,
        "unparseable": answered.filter(pl.col("verdict").is_null()).height,
        "reasked": lines.filter(pl.col("attempt") == 2).height,
        "verdicts": answered.filter(pl.col("verdict").is_not_null()).height,
        "concurrency": concurrency,
        **{
            k: row[k]
            for k in (
                "ttft_p50_s",
                "latency_p50_s",
                "latency_p90_s",
                "latency_p99_s",
                "requests_per_s",
                "output_tokens_per_s",
                "window_s",
                "output_tokens",
            )
        },
        "prompt_tokens": int(answered["prompt_tokens"].fill_null(0).sum()),
    }
