"""Every answer of a run, sample by sample, as the sample explorer shows it: read from the run folder's
predictions, scores and the judges' verdict journals (no request, no metric computed again).

For each dataset: its samples in the dataset's order (those its file no longer has after them, by id), and
for each system (a model, or a model on perturbed images) that has predictions on it: the answer with its
reasoning removed as the metrics saw it (the dataset's `reasoning` rule) and the raw answer where that
removed something, the request's error, timings and tokens, each metric's per-sample value, and each judge's
last verdict on each kind of question (grade, extract) with its raw answer.

`judge_rule`: where the judges' grade (their majority) and a rule metric of the answer decide differently;
a rule metric says correct where it passes its threshold (the T of the pair's `METRIC|judge:T`, else full
marks), as in the report's agreement tables.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

import metrics
from vlmhyperbench.results.records import Manifest, PairKey

PREDICTION_COLUMNS = (
    "sample_id",
    "doc_class",
    "question_type",
    "prompt",
    "prediction",
    "references",
    "error",
    "attempts",
    "ttft_s",
    "latency_s",
    "output_tokens",
    "label",
    "fields",
    "order",
)
VERDICT_COLUMNS = {
    "sample_id": pl.String,
    "kind": pl.String,
    "verdict": pl.String,
    "verdict_error": pl.String,
    "raw": pl.String,
    "error": pl.String,
}


@dataclass(frozen=True)
class System:
    """What answered: a model, on clean or perturbed images."""

    model: str
    perturbation: str = ""

    @property
    def label(self) -> str:
        return self.model + (f" ~{self.perturbation}" if self.perturbation else "")


@dataclass
class DatasetAnswers:
    """One dataset's samples and every system's answers to them."""

    name: str
    systems: list[System]
    ids: list[str]
    answers: list[dict[str, dict]] = field(default_factory=list)
    """Per system: sample_id -> the answer's record."""
    metrics: list[str] = field(default_factory=list)
    higher_is_better: dict[str, bool] = field(default_factory=dict)


def systems_by_dataset(run, manifest: Manifest) -> dict[str, list[System]]:
    """dataset -> the systems with a predictions file on it, in the manifest's order (a load curve's later
    levels left out: they ask the same samples again)."""
    out: dict[str, list[System]] = {}
    for p in manifest.pairs:
        key = p.key
        if key.is_level or not run.predictions(key).is_file():
            continue
        system = System(key.model, key.perturbation or "")
        if system not in out.setdefault(key.dataset, []):
            out[key.dataset].append(system)
    return out


def dataset_answers(
    run,
    manifest: Manifest,
    dataset: str,
    systems: list[System],
    scores: pl.DataFrame,
    order: list[str],
    reasoning: tuple[str, ...],
) -> DatasetAnswers:
    """DATASET's answers (module docstring); ORDER: the dataset's sample ids in its own order (may be [])."""
    scores = _sample_scores(scores, dataset)
    judges = list(manifest.judges)
    hib: dict[str, bool] = {}
    answers: list[dict[str, dict]] = []
    seen: set[str] = set()
    for system in systems:
        key = PairKey(model=system.model, dataset=dataset, perturbation=system.perturbation or None)
        rows = _predictions(run.predictions(key))
        own = scores.filter(
            (pl.col("model") == system.model) & (pl.col("perturbation") == system.perturbation)
        )
        values: dict[str, dict[str, float | None]] = {}
        for sid, metric, value, better in own.select(
            "sample_id", "metric", "value", "higher_is_better"
        ).iter_rows():
            values.setdefault(sid, {})[metric] = _number(value)
            if better is not None:
                hib.setdefault(metric, bool(better))
        verdicts = {j: _verdicts(run.verdicts(j, key)) for j in judges}
        verdicts = {j: v for j, v in verdicts.items() if v}
        thresholds = _rule_thresholds(list(dict.fromkeys(own["metric"].to_list())))
        by_id: dict[str, dict] = {}
        for r in rows:
            sid = str(r["sample_id"])
            seen.add(sid)
            by_id[sid] = _answer(r, values.get(sid, {}), verdicts, sid, thresholds, reasoning)
        answers.append(by_id)
    known = set(order)
    ids = [i for i in order if i in seen] + sorted(seen - known)
    names = list(dict.fromkeys(scores["metric"].to_list()))
    return DatasetAnswers(dataset, systems, ids, answers, names, {m: hib.get(m, _higher(m)) for m in names})


def _higher(name: str) -> bool:
    """Whether a higher value of metric NAME is better (the registry's word; judged metrics: yes)."""
    try:
        return bool(metrics.get_metric(name).higher_is_better)
    except Exception:
        return True


def _sample_scores(scores: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """The per-sample rows of DATASET's metrics (no per-field or per-subset rows), perturbation "" when
    clean."""
    if not scores.height:
        return pl.DataFrame(
            schema={
                "model": pl.String,
                "perturbation": pl.String,
                "sample_id": pl.String,
                "metric": pl.String,
                "value": pl.Float64,
                "higher_is_better": pl.Boolean,
            }  # fmt: skip
        )
    keep = pl.col("dataset") == dataset
    for column in ("field", "subset"):  # a KIE field's rows, a benchmark's breakdown rows
        if column in scores.columns:
            keep &= pl.col(column).is_null()
    out = scores.filter(keep)
    if "perturbation" not in out.columns:
        out = out.with_columns(pl.lit("", pl.String).alias("perturbation"))
    if "higher_is_better" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.Boolean).alias("higher_is_better"))
    return out.with_columns(pl.col("perturbation").fill_null(""), pl.col("sample_id").cast(pl.String))


def _predictions(path) -> list[dict]:
    try:
        present = [c for c in PREDICTION_COLUMNS if c in pl.read_parquet_schema(path)]
        return pl.read_parquet(path, columns=present).to_dicts()
    except (pl.exceptions.PolarsError, OSError):  # a damaged file: its answers are missing, said by the page
        return []


def _answer(
    r: dict,
    values: dict[str, float | None],
    verdicts: dict[str, dict[str, dict]],
    sid: str,
    thresholds: dict[str, tuple[float, bool]],
    reasoning: tuple[str, ...],
) -> dict:
    raw = r.get("prediction")
    shown = metrics.strip_reasoning(raw, reasoning) if raw is not None else None
    judged = []
    for judge, by_sample in verdicts.items():
        for kind, line in sorted(by_sample.get(sid, {}).items()):
            text = line.get("raw")
            stripped = metrics.strip_reasoning(text) if text is not None else None
            judged.append(
                {
                    "judge": judge,
                    "kind": kind,
                    "verdict": line.get("verdict"),
                    "answer": stripped,
                    "raw": text if text != stripped else None,
                    "verdict_error": line.get("verdict_error"),
                    "error": line.get("error"),
                }
            )
    error = r.get("error")
    grades = [j["verdict"] for j in judged if j["kind"] == "grade"]
    return {
        "prompt": r.get("prompt"),
        "answer": shown,
        "raw": raw if raw != shown else None,
        "error": error,
        "attempts": r.get("attempts"),
        "latency_s": _number(r.get("latency_s")),
        "ttft_s": _number(r.get("ttft_s")),
        "output_tokens": r.get("output_tokens"),
        "scores": values,
        "judges": judged,
        "judge_rule": None if error is not None else _judge_rule(_majority(grades), values, thresholds),
        "references": _references(r),
        "doc_class": r.get("doc_class") or "",
        "question_type": r.get("question_type") or "",
    }


def _references(r: dict) -> list[str]:
    """The answer's references as text: the references column, else the task's fields (label, KIE fields,
    page order)."""
    refs = [str(x) for x in (r.get("references") or [])]
    if refs:
        return refs
    if r.get("label") is not None:
        return [str(r["label"])]
    for name in ("fields", "order"):
        value = r.get(name)
        if value is not None:
            if isinstance(value, str):
                return [value]
            return [json.dumps(value, ensure_ascii=False, default=str)]
    return []


def _verdicts(path) -> dict[str, dict[str, dict]]:
    """sample_id -> kind -> the judge's last line that answered (else its last line) in the journal at PATH
    (a line cut by a kill, or one that does not parse, is skipped, as the journal's reader does)."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    data = data[: data.rfind(b"\n") + 1]
    if not data:
        return {}
    try:
        lines = pl.read_ndjson(io.BytesIO(data), schema=VERDICT_COLUMNS).to_dicts()
    except Exception:
        lines = []
        for line in data.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                lines.append({k: rec.get(k) for k in VERDICT_COLUMNS})
    out: dict[str, dict[str, dict]] = {}
    for line in lines:
        sid, kind = line.get("sample_id"), line.get("kind")
        if sid is None or kind is None:
            continue
        last = out.setdefault(str(sid), {}).get(kind)
        if last is None or line.get("error") is None or last.get("error") is not None:
            out[str(sid)][kind] = line
    return out


def _majority(votes: list[str | None]) -> str | None:
    """The grade more judges gave than any other; None on a tie or without one (as the judged metrics)."""
    counts = Counter(v for v in votes if v is not None).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def _rule_thresholds(names: list[str]) -> dict[str, tuple[float, bool]]:
    """Each rule metric among NAMES -> (the value from which it says correct, higher_is_better)."""
    recall = {}
    for name in names:
        try:
            j = metrics.judged_metric(name)
        except Exception:
            j = None
        if j is not None and j.mode == "recall":
            recall.setdefault(j.base, j)
    if not recall and not any(metrics.is_judged(n) for n in names):
        return {}  # no judge on this pair
    out = {}
    for name in names:
        if metrics.is_judged(name) or name not in metrics.METRICS:
            continue
        spec = metrics.get_metric(name)
        out[name] = (metrics.threshold_of(recall.get(name), spec), bool(spec.higher_is_better))
    return out


def _judge_rule(grade: str | None, values: dict, thresholds: dict[str, tuple[float, bool]]) -> bool | None:
    """Whether the judges' grade and a rule metric decide differently; None without a grade."""
    if grade is None or grade not in ("C", "I"):
        return None
    for name, (threshold, higher) in thresholds.items():
        value = values.get(name)
        if value is None:
            continue
        passed = value >= threshold if higher else value <= threshold
        if passed != (grade == "C"):
            return True
    return False


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
