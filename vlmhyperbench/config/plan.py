"""The plan: plan.csv's rows expanded into the run's pairs, each (model, dataset, perturbation) with the
plan's overrides applied and its backend resolved. A row whose concurrency is a list (`1 4 16 64`) is a load
curve: one pair per level, on the same samples; the lowest level is the pair as any other, and each other
level's key carries its concurrency (PairKey.concurrency)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import metrics
from environments.backends import Backend
from vlmhb_core.errors import BenchError, ConfigError, ConfigErrors
from vlmhyperbench.benchmarks import BENCHMARKS
from vlmhyperbench.config.rows import DatasetRow, ModelRow, PlanRow
from vlmhyperbench.config.task_kinds import TASKS
from vlmhyperbench.results.records import PairKey

if TYPE_CHECKING:
    from vlmhyperbench.config.catalog import Catalog

FALLBACK_AGGREGATORS = ("general", "by_doc_class")


@dataclass(frozen=True)
class Pair:
    """One (model, dataset, perturbation) unit of work of a run, with the plan's overrides applied."""

    model: ModelRow
    dataset: DatasetRow
    max_samples: int | None
    concurrency: int
    filter_doc_class: tuple[str, ...]
    filter_question_type: tuple[str, ...]
    perturbation: str | None
    metrics: tuple[str, ...]
    """The plan's or the dataset's metrics; empty: the task's defaults (see metric_names)."""
    aggregators: tuple[str, ...]
    backend: Backend | None = None
    """The model's backend, resolved once by the catalog (None: a plugin that cannot be used)."""
    judges: tuple[str, ...] = ()
    """The models.csv rows that judge the pair's judged metrics (the plan row's, else the dataset's)."""
    judge_images: bool = False
    """Whether the judges see the sample's images."""
    levels: tuple[int, ...] = ()
    """A load curve's concurrency levels, lowest first (empty: one level). The first level is the pair
    itself; each other level is a Pair of its own whose key carries its concurrency."""

    @property
    def is_level(self) -> bool:
        """A load-curve level after the first: scored only when its answers differ from the first's."""
        return bool(self.levels) and self.concurrency != self.levels[0]

    @property
    def key(self) -> PairKey:
        return PairKey(
            model=self.model.name,
            dataset=self.dataset.name,
            perturbation=self.perturbation,
            concurrency=self.concurrency if self.is_level else None,
        )

    @property
    def base_key(self) -> PairKey:
        """The key of the load curve's first level (the pair itself when there is no curve)."""
        return PairKey(model=self.model.name, dataset=self.dataset.name, perturbation=self.perturbation)

    def metric_names(self) -> list[str]:
        """The metrics the pair is scored with, a scorer's name standing for all its metrics (PluginError
        when its plugin task or scorer cannot be used)."""
        from vlmhyperbench.scorers import expand_metric_names

        return expand_metric_names(list(self.metrics) or list(TASKS.get(self.dataset.task).metrics))

    def judged_metrics(self) -> list[metrics.JudgedMetric]:
        """The pair's judged metrics (judge_correct, judge_extract:M, M|judge), read."""
        return [j for name in self.metric_names() if (j := metrics.judged_metric(name)) is not None]

    @property
    def judged(self) -> bool:
        """Whether the pair waits for its judges before it is scored."""
        return bool(self.judges) and bool(self.judged_metrics())

    @property
    def reasoning_tags(self) -> tuple[str, ...]:
        """The reasoning tags removed from answers before scoring (the dataset's `reasoning` rule)."""
        return metrics.parse_reasoning(self.dataset.reasoning)


def expand_plan(
    catalog: Catalog,
    *,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> list[Pair]:
    """The run's pairs: plan.csv rows with `*` expanded (or every compatible pair without a plan),
    restricted to MODELS and DATASETS when given. An explicit pair that the backend cannot answer,
    or a pair planned twice, is a ConfigError; a wildcard silently skips incompatible pairs."""
    for label, wanted, known in (
        ("--models", models, catalog.models),
        ("--datasets", datasets, catalog.datasets),
    ):
        unknown = [n for n in wanted or [] if n not in known]
        if unknown:
            raise ConfigError(f"{label}: unknown name(s) {', '.join(unknown)}", allowed=sorted(known))
    plan = catalog.plan or [PlanRow()]
    plan_file = catalog.root / "plan.csv"
    judge_names = catalog.judge_names()
    pairs: dict[tuple[str, str, str | None, int | None], tuple[Pair, int]] = {}
    errors: list[ConfigError] = []
    for row in plan:
        # A judge is not a candidate unless a plan row names it: a wildcard leaves it out.
        candidates = (
            [m for m in catalog.models.values() if m.name not in judge_names]
            if row.model == "*"
            else [catalog.models[row.model]]
        )
        for m in candidates:
            for d in catalog.datasets.values() if row.dataset == "*" else [catalog.datasets[row.dataset]]:
                backend = catalog.backends.get(m.name)  # None: a plugin that cannot be used
                tasks = backend.tasks if backend is not None else None
                if tasks is not None and d.task not in tasks:
                    if row.model != "*" and row.dataset != "*":
                        errors.append(
                            ConfigError(
                                f"model {m.name!r} (backend {m.backend}) cannot answer task {d.task!r} "
                                f"of dataset {d.name!r}",
                                file=plan_file,
                                line=row.line,
                                column="dataset",
                                allowed=sorted(tasks),
                            )
                        )
                    continue
                key = (m.name, d.name, row.perturbation, None)
                if key in pairs:
                    if row.model != "*" and row.dataset != "*":
                        errors.append(
                            ConfigError(
                                f"pair ({m.name}, {d.name}) is planned twice (also at line {pairs[key][1]})",
                                file=plan_file,
                                line=row.line,
                                column="dataset",
                            )
                        )
                    continue
                levels = row.concurrency if len(row.concurrency) > 1 else ()
                for concurrency in levels or (row.concurrency[0] if row.concurrency else m.concurrency,):
                    pair = Pair(
                        model=m,
                        dataset=d,
                        max_samples=max_samples or row.max_samples,
                        concurrency=concurrency,
                        filter_doc_class=row.filter_doc_class,
                        filter_question_type=row.filter_question_type,
                        perturbation=row.perturbation,
                        metrics=row.metrics or d.metrics,
                        aggregators=row.aggregators or d.aggregators or _default_aggregators(d.task),
                        backend=backend,
                        judges=row.judge or d.judge,
                        judge_images=d.judge_images if row.judge_images is None else row.judge_images,
                        levels=levels,
                    )
                    problem = _unjudged(pair, row, catalog.root) or _judge_images(pair, row, catalog.root)
                    if problem is not None:
                        if str(problem) not in {str(e) for e in errors}:
                            errors.append(problem)
                        break
                    pairs[pair.key.model, pair.key.dataset, pair.key.perturbation, pair.key.concurrency] = (
                        pair,
                        row.line,
                    )
    if errors:
        raise ConfigErrors(errors)
    return [
        p
        for p, _ in pairs.values()
        if (not models or p.model.name in models) and (not datasets or p.dataset.name in datasets)
    ]


def _unjudged(pair: Pair, row: PlanRow, root: Path) -> ConfigError | None:
    """The error of a pair whose judged metrics have no judge (at the row that set its metrics)."""
    try:
        judged = pair.judged_metrics()
    except BenchError:  # a plugin task that cannot be used, or a bad name: reported where it is named
        return None
    if not judged or pair.judges:
        return None
    names = ", ".join(j.name for j in judged)
    message = (
        f"metric(s) {names} of pair ({pair.model.name}, {pair.dataset.name}) need a judge: "
        "name one or more models.csv rows in column 'judge'"
    )
    benchmark = BENCHMARKS.find(pair.dataset.benchmark) if pair.dataset.benchmark else None
    if benchmark is not None and benchmark.official_judge:
        message += f" (the official judge of {benchmark.title}: {benchmark.official_judge})"
    if row.line and (row.metrics or row.judge):
        return ConfigError(message, file=root / "plan.csv", line=row.line, column="judge")
    return ConfigError(message, file=root / "datasets.csv", line=pair.dataset.line, column="judge")


def _judge_images(pair: Pair, row: PlanRow, root: Path) -> ConfigError | None:
    """The error of a pair that would show its pages to the judges of a benchmark whose official judge
    questions are text only (MMLongBench-Doc's extraction, CharXiv's grading)."""
    benchmark = BENCHMARKS.find(pair.dataset.benchmark) if pair.dataset.benchmark else None
    if not pair.judge_images or benchmark is None or not benchmark.judge_asks or not pair.judged_metrics():
        return None
    message = (
        f"benchmark {benchmark.name!r} asks its judges its official questions, which are text only: "
        "judge_images must be no"
    )
    if row.line and row.judge_images is not None:
        return ConfigError(message, file=root / "plan.csv", line=row.line, column="judge_images")
    return ConfigError(message, file=root / "datasets.csv", line=pair.dataset.line, column="judge_images")


def dropped_datasets(catalog: Catalog, pairs: list[Pair], datasets: list[str] | None = None) -> list[str]:
    """One line per dataset of the config (or of DATASETS) that no pair of the plan uses, saying why."""
    used = {p.dataset.name for p in pairs}
    lines = []
    for d in catalog.datasets.values():
        if d.name in used or (datasets and d.name not in datasets):
            continue
        models = [m for m in catalog.models.values()]
        able = [m.name for m in models if (b := catalog.backends.get(m.name)) is None or b.tasks is None
                or d.task in b.tasks]  # fmt: skip
        if not able:
            kinds = sorted({m.backend for m in models})
            why = f"no model can answer its task {d.task!r} (backends: {', '.join(kinds)})"
        else:
            why = "no plan.csv row pairs it with a model that can answer it"
        lines.append(f"dataset {d.name!r} is not run: {why}")
    return lines


def synthetic_datasets(catalog: Catalog, pairs: list[Pair]) -> list[str]:
    """One line per planned dataset whose data is a synthetic sample bundle (`vlmhb bundle sample`)."""
    lines = []
    for d in {p.dataset.name: p.dataset for p in pairs}.values():
        try:
            synthetic = d.benchmark and catalog.data_source(d).synthetic
        except BenchError:  # the pair reports it when it runs
            continue
        if synthetic:
            lines.append(
                f"dataset {d.name!r} reads SYNTHETIC sample data ({d.path}), not the {d.benchmark} "
                "benchmark: its figures try the path, they say nothing about a model"
            )
    return lines


def _default_aggregators(task: str) -> tuple[str, ...]:
    try:
        return TASKS.get(task).aggregators
    except BenchError:  # a plugin task that cannot be used: its pairs fail anyway
        return FALLBACK_AGGREGATORS


def plan_pairs(
    config: str | Path,
    models: list[str] | None = None,
    datasets: list[str] | None = None,
    max_samples: int | None = None,
) -> tuple[Catalog, list[Pair]]:
    """Reads and checks the config folder CONFIG, then expands its plan; ConfigError before anything runs."""
    from vlmhyperbench.config.catalog import load_catalog

    catalog = load_catalog(config)
    return catalog, expand_plan(catalog, models=models, datasets=datasets, max_samples=max_samples)
