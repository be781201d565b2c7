"""Judges: models that decide what rules cannot (an answer in a sentence, a date in another form).

A judge is a models.csv row that a `judge` column of datasets.csv or plan.csv names; the benchmark builds,
serves and stops it like any model, once for all the pairs it judges, after their inference and before
their scoring (flows/judge.py). What it is asked (asks: grade or extract, with strict parsing; a judge-graded
benchmark's official questions instead: _mmlongbench's extraction, _charxiv's batched grading), about which
samples (plan: rules first, the judge on the rule's misses), every answer kept (journal: one append-only
journal per judge, model and dataset, read back per question so a resume asks only what is missing), and
what its verdicts become (verdicts: majority of several judges, the columns judged metrics read, how many
samples the judges saw, their agreement with the rules and each other, their cost and speed). The judged
metrics themselves (judge_correct, judge_extract:METRIC, METRIC|judge, and the benchmarks' verdict metrics)
are functions in metrics/.

    judging = plan_pair(pair, predictions, catalog.prompts)     # judging.asks: what to ask
    states = VerdictJournal(run.verdicts(judge, pair.key)).states()
    verdicts = verdict_columns(judging, list(pair.judges), {judge: states})
"""

from vlmhyperbench.judges.asks import (
    EXTRACT_TEMPLATE,
    GRADE_TEMPLATE,
    JUDGE_ASKS,
    JudgeAsk,
    Question,
    Unparseable,
    ask_key,
    parse_extraction,
    parse_grade,
    read_verdict,
)
from vlmhyperbench.judges.missing import MISSING_SCHEMA, judge_failure, missing_verdicts
from vlmhyperbench.judges.selection import Ask, PairJudging, plan_pair, rule_metric_names
from vlmhyperbench.judges.verdict_journal import UNPARSEABLE_FINAL, VERDICT_SCHEMA, KeyState, VerdictJournal
from vlmhyperbench.judges.verdicts import (
    AGREEMENT_SCHEMA,
    DISAGREEMENT_SCHEMA,
    JUDGING_SCHEMA,
    MAJORITY,
    agreement_rows,
    disagreements,
    grade_column,
    judge_performance,
    judging_counts,
    majority,
    rule_thresholds,
    verdict_columns,
)

__all__ = [
    "AGREEMENT_SCHEMA",
    "DISAGREEMENT_SCHEMA",
    "EXTRACT_TEMPLATE",
    "GRADE_TEMPLATE",
    "JUDGE_ASKS",
    "JUDGING_SCHEMA",
    "MAJORITY",
    "MISSING_SCHEMA",
    "UNPARSEABLE_FINAL",
    "VERDICT_SCHEMA",
    "Ask",
    "JudgeAsk",
    "Question",
    "KeyState",
    "PairJudging",
    "Unparseable",
    "VerdictJournal",
    "agreement_rows",
    "ask_key",
    "disagreements",
    "grade_column",
    "judge_failure",
    "judge_performance",
    "judging_counts",
    "majority",
    "missing_verdicts",
    "parse_extraction",
    "parse_grade",
    "plan_pair",
    "read_verdict",
    "rule_metric_names",
    "rule_thresholds",
    "verdict_columns",
]
