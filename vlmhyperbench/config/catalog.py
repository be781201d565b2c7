"""The configuration as code: models.csv, datasets.csv, prompts.csv and plan.csv (and the optional
gates.csv and thresholds.csv), validated together.

`load_catalog(DIR)` reads and checks every file before anything runs; every problem found is reported
as `FILE:LINE: column 'NAME': what is wrong (allowed: ...)`. Names are checked against the registries
of their concepts (backends, tasks, dataset formats, benchmarks, metrics, perturbations); a plugin that
cannot be used is reported on the rows that name it, without stopping the run (only its pairs fail).
A datasets.csv row that names a benchmark gets its task, split, prompt, metrics and aggregators from it
where the row sets none; its path may be `hf://ORG/NAME[@REVISION]` or an offline bundle, which is
resolved (a bundle checked file by file) before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments.backends import BACKENDS, Backend
from metrics import METRICS, aggregator_names, is_judged, judged_metric, parse_reasoning
from vlmhb_core.errors import ConfigError, ConfigErrors, DatasetError, PluginError
from vlmhb_core.registry import Registry
from vlmhyperbench.benchmarks import BENCHMARKS, Benchmark, DataSource, is_bundle, is_hub, resolve_source
from vlmhyperbench.config.csv_rows import CsvRow, read_csv_rows
from vlmhyperbench.config.gates import GATE_COLUMNS, GATES_FILE, GateRow, check_gates
from vlmhyperbench.config.plan import expand_plan
from vlmhyperbench.config.rows import (
    DATASET_COLUMNS,
    ENV_VAR_RE,
    JUDGE_COLLECTIONS,
    JUDGE_TEMPLATE_FIELDS,
    MODEL_COLUMNS,
    NAME_RE,
    PAGE_COLUMNS,
    PLAN_COLUMNS,
    PROMPT_COLUMNS,
    TEMPLATE_FIELDS,
    DatasetRow,
    ModelRow,
    PlanRow,
    PromptRow,
    _Row,
    build_row,
)
from vlmhyperbench.config.task_kinds import TASKS
from vlmhyperbench.config.thresholds import THRESHOLDS_FILE, read_thresholds
from vlmhyperbench.datasets import FORMATS, PageOptions, page_modes, parse_perturbation, takes_page_options
from vlmhyperbench.scorers import SCORERS


@dataclass
class Catalog:
    """Every row of a config folder, checked."""

    root: Path
    models: dict[str, ModelRow]
    datasets: dict[str, DatasetRow]
    prompts: dict[str, list[PromptRow]] = field(default_factory=dict)
    plan: list[PlanRow] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    gates: list[GateRow] = field(default_factory=list)
    """gates.csv's rows, checked after the report."""
    warnings: list[ConfigError] = field(default_factory=list)
    """Rows that name a plugin that cannot be used: reported, not fatal (only the pairs that use it fail)."""
    backends: dict[str, Backend | None] = field(default_factory=dict)
    """Each model's backend, resolved once (None: a plugin backend that cannot be used)."""

    def judge_names(self) -> set[str]:
        """The models.csv rows that a `judge` column of datasets.csv or plan.csv names: judges, which a
        plan wildcard does not pair with datasets as candidates."""
        return {n for d in self.datasets.values() for n in d.judge} | {n for p in self.plan for n in p.judge}

    def dataset_path(self, d: DatasetRow) -> Path:
        """D's files: relative paths taken from the config folder; `hf://` and bundles resolved (see
        vlmhyperbench.benchmarks); DatasetError when they cannot be used."""
        return self.data_source(d).path

    def data_source(self, d: DatasetRow) -> DataSource:
        """Where D's files are, how they were found, and their hub revision when known."""
        benchmark = BENCHMARKS.get(d.benchmark) if d.benchmark else None
        path = Path(d.path).expanduser()
        local = path if path.is_absolute() else (self.root / path).resolve()
        if benchmark is None and not is_hub(d.path) and not is_bundle(local):
            return DataSource(d.path, local, "folder")
        return resolve_source(d.path, self.root, benchmark, d.split)


class PluginRowError(ConfigError):
    """A row names a plugin that cannot be used: reported with the row, but not fatal."""


# ---------------------------------------------------------------- loading


def load_catalog(root: str | Path, *, check_paths: bool = True) -> Catalog:
    """Reads and validates the config folder ROOT; raises ConfigErrors listing every problem found.
    CHECK_PATHS=False skips the dataset-path check (re-scoring a run needs no dataset)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"config folder {root} does not exist")
    errors: list[ConfigError] = []
    files: list[Path] = []

    def rows(name: str, columns: list[str], required: list[str], optional_file: bool = False) -> list[CsvRow]:
        path = root / name
        if optional_file and not path.exists():
            return []
        files.append(path)
        try:
            return read_csv_rows(path, required=required, known=columns, display=str(path))
        except ConfigError as exc:
            errors.append(exc)
            return []

    model_rows = rows("models.csv", MODEL_COLUMNS, ["name", "backend"])
    dataset_rows = rows("datasets.csv", DATASET_COLUMNS, ["name", "path"])
    prompt_rows = rows("prompts.csv", PROMPT_COLUMNS, ["collection", "template"], optional_file=True)
    plan_rows = rows("plan.csv", PLAN_COLUMNS, ["model", "dataset"], optional_file=True)

    models = _unique(model_rows, ModelRow, errors, _check_model)
    prompts: dict[str, list[PromptRow]] = {}
    for row in prompt_rows:
        prompt = build_row(PromptRow, row, errors)
        if prompt is not None and _check_prompt(prompt, row, errors):
            prompts.setdefault(prompt.collection, []).append(prompt)
    datasets = _unique(
        dataset_rows,
        DatasetRow,
        errors,
        lambda d, r, e: _check_dataset(d, r, e, root if check_paths else None, prompts, models),
    )
    plan = [
        p
        for row in plan_rows
        if (p := build_row(PlanRow, row, errors)) is not None
        and _check_plan_row(p, row, errors, models, datasets)
    ]
    gate_rows = rows(GATES_FILE, GATE_COLUMNS, ["metric"], optional_file=True)
    # a gate may name the judged metrics the config uses (whatever this process has built before)
    judged = {n for row in [*datasets.values(), *plan] for n in row.metrics if is_judged(n)}
    plain = [n for n in METRICS.names() if not is_judged(n) or n == "judge_correct"]
    gates = check_gates(gate_rows, models, datasets, plain + sorted(judged - set(plain)), errors)
    _check_thresholds(root, files, errors)
    warnings = [e for e in errors if isinstance(e, PluginRowError)]
    errors = [e for e in errors if not isinstance(e, PluginRowError)]
    if errors:
        raise ConfigErrors(errors)
    catalog = Catalog(
        root=root,
        models=models,
        datasets=datasets,
        prompts=prompts,
        plan=plan,
        files=files,
        gates=gates,
        warnings=warnings,
        backends={
            name: BACKENDS.find(m.backend) if BACKENDS.problem(m.backend) is None else None
            for name, m in models.items()
        },
    )
    expand_plan(catalog)  # incompatible explicit pairs and duplicates are config errors too
    return catalog


def _check_thresholds(root: Path, files: list[Path], errors: list[ConfigError]) -> None:
    """thresholds.csv (optional): regression thresholds per metric, checked now, applied by the report."""
    path = root / THRESHOLDS_FILE
    if not path.exists():
        return
    files.append(path)
    try:
        read_thresholds(path)
    except ConfigError as exc:
        errors.append(exc)


def _unique(rows: list[CsvRow], model: type[_Row], errors: list[ConfigError], check) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        item = build_row(model, row, errors)
        if item is None:
            continue
        if item.name in out:
            errors.append(
                row.error(
                    "name", f"duplicate name {item.name!r} (first defined at line {out[item.name].line})"
                )
            )
            continue
        if not NAME_RE.match(item.name):
            errors.append(
                row.error(
                    "name",
                    f"{item.name!r} is not a valid name: use letters, digits, "
                    "'.', '_' or '-' (it becomes a folder name)",
                )
            )
            continue
        checked = check(item, row, errors)
        if checked:
            out[item.name] = item if checked is True else checked
    return out


def _check_model(m: ModelRow, row: CsvRow, errors: list[ConfigError]) -> bool:
    before = len(errors)
    if m.backend not in BACKENDS:
        errors.append(row.unknown("backend", "backend", m.backend, BACKENDS.names()))
        return False
    if not _load_plugin(BACKENDS, m.backend, row, "backend", errors):
        return True  # a plugin backend that cannot be used: its pairs fail when its environment is built
    backend = BACKENDS.get(m.backend)
    env = row.cells.get("env")
    if backend.external and env not in (None, "none"):
        errors.append(
            row.error(
                "env",
                f"backend {m.backend!r} talks to a running endpoint: env must be 'none' or empty",
                ["none"],
            )
        )
    if not backend.external and env == "none":
        errors.append(
            row.error(
                "env",
                f"backend {m.backend!r} is served by the benchmark and needs an environment",
                ["venv", "docker"],
            )
        )
    if backend.external and not m.base_url:
        errors.append(row.error("base_url", f"backend {m.backend!r} needs the endpoint's URL"))
    if m.base_url and not re.match(r"^https?://[^\s/]+", m.base_url):
        errors.append(row.error("base_url", f"{m.base_url!r} is not an http(s) URL"))
    if m.base_url and not backend.external:
        errors.append(
            row.error(
                "base_url",
                f"only an external backend takes a base_url; {m.backend!r} is started by the benchmark",
            )
        )
    if backend.needs_model and not m.model:
        errors.append(row.error("model", f"backend {m.backend!r} needs a model id or path"))
    if m.api_key_env and not ENV_VAR_RE.match(m.api_key_env):
        errors.append(
            row.error(
                "api_key_env",
                "must be the NAME of an environment variable that holds the key, never the key itself",
            )
        )
    for column, value, low in (
        ("concurrency", m.concurrency, 1),
        ("max_tokens", m.max_tokens, 1),
        ("gpus", m.gpus, 0),
    ):
        if value < low:
            errors.append(row.error(column, f"{value} is below the minimum {low}"))
    for column in ("api_version", "deployment", "query"):
        if row.cells.get(column) and not backend.external:
            errors.append(
                row.error(column, f"only an external endpoint takes {column}; {m.backend!r} is started here")
            )
    if m.api_version and not m.api_key_env:
        errors.append(
            row.error("api_key_env", "Azure OpenAI needs a key: the NAME of the variable that holds it")
        )
    if m.deployment and not m.api_version:
        errors.append(
            row.error(
                "deployment", "an Azure OpenAI deployment needs the row's api_version (e.g. 2024-10-21)"
            )
        )
    if m.api_version is not None and not re.match(r"^[0-9A-Za-z][0-9A-Za-z.-]*$", m.api_version):
        errors.append(row.error("api_version", f"{m.api_version!r} is not an api-version like 2024-10-21"))
    for column in ("cost_per_hour", "price_in", "price_out"):
        value = getattr(m, column)
        if value is not None and not (value >= 0 and value != float("inf")):
            errors.append(row.error(column, f"{value} is not a price in US dollars (0 or more)"))
    if m.cost_per_hour is not None and (m.price_in is not None or m.price_out is not None):
        errors.append(
            row.error(
                "cost_per_hour",
                "give the price by the hour (cost_per_hour) or by the token (price_in, price_out), not both",
            )
        )
    try:
        backend.read_args(m.args)
    except ValueError as e:
        errors.append(row.error("args", str(e)))
    if not 0 <= m.temperature <= 2:
        errors.append(row.error("temperature", f"{m.temperature} is outside 0..2"))
    if m.python and not re.match(r"^3\.\d{1,2}$", m.python):
        errors.append(row.error("python", f"{m.python!r} is not a Python version like 3.11"))
    for key in m.env_vars:
        if not ENV_VAR_RE.match(key):
            errors.append(row.error("env_vars", f"{key!r} is not a valid environment variable name"))
    return _ok(errors, before)


def _check_dataset(
    d: DatasetRow,
    row: CsvRow,
    errors: list[ConfigError],
    root: Path | None,
    prompts: dict[str, list[PromptRow]],
    models: dict[str, ModelRow],
) -> DatasetRow | bool:
    """The row checked, with what its benchmark brings filled in; False when it has errors."""
    before = len(errors)
    benchmark = _check_benchmark(d, row, errors)
    if benchmark is not None:
        d = with_benchmark(d, benchmark)
    if not d.task:
        if not d.benchmark:  # an unknown benchmark is reported on its own column
            errors.append(
                row.error("task", "required value is empty: name a task, or a benchmark", TASKS.names())
            )
    elif d.task not in TASKS:
        errors.append(row.unknown("task", "task", d.task, TASKS.names()))
    else:
        _load_plugin(TASKS, d.task, row, "task", errors)
    if d.format is not None and d.format not in FORMATS:
        errors.append(row.unknown("format", "format", d.format, FORMATS.names()))
    elif d.format is not None or benchmark is None:
        if _load_plugin(FORMATS, d.reader_format, row, "format", errors):
            _check_page_columns(d, row, errors, FORMATS.get(d.reader_format), f"format {d.reader_format!r}")
    else:
        _check_page_columns(d, row, errors, benchmark.reader_function(), f"benchmark {benchmark.name!r}")
    if root is not None:
        _check_path(d, row, errors, root, benchmark)
    if d.prompts in JUDGE_COLLECTIONS:
        errors.append(row.error("prompts", f"{d.prompts!r} holds judge prompts, not the model's"))
    elif d.prompts and d.prompts not in prompts:
        errors.append(
            row.error(
                "prompts", f"no prompt collection {d.prompts!r} in prompts.csv", sorted(prompts) or None
            )
        )
    _check_metrics(row, d.metrics, errors)
    _check_judges(row, d.judge, models, errors)
    if d.reasoning is not None:
        try:
            parse_reasoning(d.reasoning)
        except ValueError as exc:
            errors.append(row.error("reasoning", str(exc), ["strip", "keep", "strip:TAG,TAG"]))
    return d if _ok(errors, before) else False


def _check_benchmark(d: DatasetRow, row: CsvRow, errors: list[ConfigError]) -> Benchmark | None:
    """The benchmark the row names (None: none, or one that cannot be used, reported in ERRORS)."""
    if not d.benchmark:
        return None
    if d.benchmark not in BENCHMARKS:
        errors.append(row.unknown("benchmark", "benchmark", d.benchmark, BENCHMARKS.names()))
        return None
    if not _load_plugin(BENCHMARKS, d.benchmark, row, "benchmark", errors):
        return None
    benchmark = BENCHMARKS.get(d.benchmark)
    if d.split and benchmark.splits and d.split not in benchmark.splits:
        errors.append(
            row.error(
                "split", f"benchmark {benchmark.name!r} has no split {d.split!r}", list(benchmark.splits)
            )
        )
    return benchmark


def with_benchmark(d: DatasetRow, benchmark: Benchmark) -> DatasetRow:
    """D with its benchmark's task, split, metrics, prompt and aggregators where the row sets none."""
    return d.model_copy(
        update={
            "task": d.task or benchmark.task,
            "split": d.split or (benchmark.default_split if d.format is None else None),
            "metrics": d.metrics or benchmark.metrics,
            "prompt_template": None if d.prompts else benchmark.prompt,
            "aggregators": benchmark.aggregators,
            "text_first": benchmark.text_first,
        }
    )


def _check_path(
    d: DatasetRow, row: CsvRow, errors: list[ConfigError], root: Path, benchmark: Benchmark | None
) -> None:
    """The path exists; an `hf://` path resolves (cache first); a bundle's every file matches its hash."""
    local = Path(d.path).expanduser()
    local = local if local.is_absolute() else root / local
    if not is_hub(d.path) and not local.exists():
        errors.append(row.error("path", f"{d.path!r} does not exist (looked for {local})"))
        return
    if benchmark is None and not is_hub(d.path) and not is_bundle(local):
        return
    try:
        resolve_source(d.path, root, benchmark, d.split)
    except DatasetError as exc:
        errors.append(row.error("path", str(exc)))


def _check_metric_names(row: CsvRow, names: tuple[str, ...], errors: list[ConfigError]) -> None:
    """Metric names, or a scorer's name (all of its metrics)."""
    allowed = sorted({n for n in METRICS.names() if not is_judged(n)} | set(SCORERS.names()))
    for name in names:
        if name not in allowed:
            errors.append(row.unknown("metrics", "name", name, allowed))
        elif name in METRICS:
            _load_plugin(METRICS, name, row, "metrics", errors)
        else:
            _load_plugin(SCORERS, name, row, "metrics", errors)


def _check_page_columns(d: DatasetRow, row: CsvRow, errors: list[ConfigError], reader, what: str) -> None:
    """dpi, pages, max_pages and reference: valid values, and only for a reader of PDFs (WHAT names it)."""
    given = [c for c in PAGE_COLUMNS if getattr(d, c) is not None]
    if not given:
        return
    if not takes_page_options(reader):
        pdf_formats = [n for n in FORMATS.registered() if _reads_pdfs(n)]
        errors.append(
            row.error(given[0], f"{what} reads images, not PDFs: the column does not apply", pdf_formats)
        )
        return
    for column in given:
        try:
            options = PageOptions.of(**{column: getattr(d, column)})
        except ValueError as exc:
            errors.append(row.error(column, str(exc)))
            continue
        modes = page_modes(reader)
        if column == "pages" and options.pages.mode not in modes:
            shown = ["N, N-M" if m == "range" else m for m in modes]
            errors.append(row.error(column, f"{what} does not take pages={d.pages}", shown))


def _reads_pdfs(fmt: str) -> bool:
    try:
        return takes_page_options(FORMATS.get(fmt))
    except Exception:  # a plugin format that cannot load: not one to suggest
        return False


def _check_prompt(p: PromptRow, row: CsvRow, errors: list[ConfigError]) -> bool:
    from jinja2 import TemplateSyntaxError, meta
    from jinja2.sandbox import SandboxedEnvironment

    try:
        names = meta.find_undeclared_variables(SandboxedEnvironment().parse(p.template))
    except TemplateSyntaxError as exc:
        errors.append(row.error("template", f"Jinja2 syntax error: {exc.message}"))
        return False
    allowed = JUDGE_TEMPLATE_FIELDS if p.collection in JUDGE_COLLECTIONS else TEMPLATE_FIELDS
    unknown = sorted(names - allowed)
    if unknown:
        errors.append(row.error("template", f"unknown variable(s) {', '.join(unknown)}", sorted(allowed)))
        return False
    return True


def _check_plan_row(p: PlanRow, row: CsvRow, errors: list[ConfigError], models: dict, datasets: dict) -> bool:
    before = len(errors)
    if p.model != "*" and p.model not in models:
        errors.append(row.unknown("model", "model", p.model, ["*", *sorted(models)]))
    if p.dataset != "*" and p.dataset not in datasets:
        errors.append(row.unknown("dataset", "dataset", p.dataset, ["*", *sorted(datasets)]))
    for column, values in (("max_samples", (p.max_samples,)), ("concurrency", p.concurrency)):
        for value in values:
            if value is not None and value < 1:
                errors.append(row.error(column, f"{value} is below the minimum 1"))
    _check_metrics(row, p.metrics, errors)
    _check_judges(row, p.judge, models, errors)
    _check_names(row, "aggregators", p.aggregators, aggregator_names(), errors)
    if p.perturbation:
        try:
            parse_perturbation(p.perturbation)
        except ConfigError as exc:
            errors.append(row.error("perturbation", exc.reason, exc.allowed))
        except PluginError as exc:
            errors.append(
                PluginRowError(
                    f"{exc}; only the pairs that use it will fail",
                    file=row.file,
                    line=row.line,
                    column="perturbation",
                )
            )
    return _ok(errors, before)


def _check_metrics(row: CsvRow, names: tuple[str, ...], errors: list[ConfigError]) -> None:
    """A `metrics` cell: registered names, and judged ones (judge_correct, judge_extract:M, M|judge[:T])."""
    plain = tuple(n for n in names if not is_judged(n))
    _check_metric_names(row, plain, errors)
    for name in names:
        if name in plain:
            continue
        try:
            judged_metric(name)
        except (ValueError, PluginError) as exc:
            errors.append(row.error("metrics", f"judged metric {name!r}: {exc}"))


def _check_judges(
    row: CsvRow, judges: tuple[str, ...], models: dict[str, ModelRow], errors: list[ConfigError]
) -> None:
    """A `judge` cell: models.csv rows that can answer a text question, each named once."""
    seen: set[str] = set()
    for name in judges:
        if name in seen:
            errors.append(row.error("judge", f"judge {name!r} is named twice (each judge votes once)"))
            continue
        seen.add(name)
        model = models.get(name)
        if model is None:
            errors.append(
                row.error("judge", f"unknown judge {name!r}: name a models.csv row", sorted(models))
            )
            continue
        backend = BACKENDS.find(model.backend) if BACKENDS.problem(model.backend) is None else None
        if backend is not None and backend.tasks is not None:
            errors.append(
                row.error(
                    "judge",
                    f"model {name!r} (backend {model.backend}) cannot judge: it answers only "
                    f"{', '.join(sorted(backend.tasks))}",
                )
            )


def _check_names(
    row: CsvRow,
    column: str,
    names: tuple[str, ...],
    allowed: list[str],
    errors: list[ConfigError],
    registry: Registry | None = None,
) -> None:
    for name in names:
        if name not in allowed:
            errors.append(row.unknown(column, "name", name, allowed))
        elif registry:
            _load_plugin(registry, name, row, column, errors)


def _load_plugin(registry: Registry, name: str, row: CsvRow, column: str, errors: list[ConfigError]) -> bool:
    """Imports the plugin NAME names (if it is one); False, and the row reported, when it cannot be used."""
    problem = registry.problem(name)
    if problem is not None:
        errors.append(
            PluginRowError(
                f"{problem}; only the pairs that use it will fail",
                file=row.file,
                line=row.line,
                column=column,
            )
        )
    return problem is None


def _ok(errors: list[ConfigError], before: int) -> bool:
    """No error since BEFORE other than plugin problems (the row is kept: its pairs fail when run)."""
    return not any(not isinstance(e, PluginRowError) for e in errors[before:])


def check_api_keys(catalog: Catalog, models: list[str]) -> None:
    """ConfigErrors for the MODELS whose api_key_env names a variable that is not set: their requests
    would go out without a key. A row whose endpoint needs no key leaves the column empty."""
    import os

    errors = []
    for name in dict.fromkeys(models):
        row = catalog.models[name]
        for variable in row.query_variables():
            if not os.environ.get(variable):
                errors.append(
                    ConfigError(
                        f"the variable {variable} that the query names is not set: export it",
                        file=catalog.root / "models.csv",
                        line=row.line,
                        column="query",
                    )
                )
        if row.api_key_env and not os.environ.get(row.api_key_env):
            errors.append(
                ConfigError(
                    f"the variable {row.api_key_env} is not set: export it with the endpoint's key "
                    "(or leave api_key_env empty if the endpoint needs no key)",
                    file=catalog.root / "models.csv",
                    line=row.line,
                    column="api_key_env",
                )
            )
    if errors:
        raise ConfigErrors(errors)
