"""The configuration as code: models.csv, datasets.csv, prompts.csv and plan.csv (and the optional
gates.csv and thresholds.csv), validated together.

`load_catalog(DIR)` reads and checks every file before anything runs; every problem found is reported
as `FILE:LINE: column 'NAME': what is wrong (allowed: ...)`. Names are checked against the registries
of their concepts (backends, tasks, dataset formats, metrics, perturbations); a plugin that cannot be
used is reported on the rows that name it, without stopping the run (only its pairs fail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments.backends import BACKENDS, Backend
from metrics import METRICS, aggregator_names
from vlmhyperbench.config.csv_rows import CsvRow, read_csv_rows
from vlmhyperbench.config.gates import GATE_COLUMNS, GATES_FILE, GateRow, check_gates
from vlmhyperbench.config.plan import expand_plan
from vlmhyperbench.config.rows import (
    DATASET_COLUMNS,
    ENV_VAR_RE,
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
from vlmhyperbench.datasets import FORMATS, PageOptions, parse_perturbation, takes_page_options
from vlmhyperbench.errors import ConfigError, ConfigErrors, PluginError
from vlmhyperbench.registry import Registry
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

    def dataset_path(self, d: DatasetRow) -> Path:
        """D's path, relative paths taken from the config folder."""
        return d.path if d.path.is_absolute() else (self.root / d.path).resolve()


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
    dataset_rows = rows("datasets.csv", DATASET_COLUMNS, ["name", "task", "path"])
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
        lambda d, r, e: _check_dataset(d, r, e, root if check_paths else None, prompts),
    )
    plan = [
        p
        for row in plan_rows
        if (p := build_row(PlanRow, row, errors)) is not None
        and _check_plan_row(p, row, errors, models, datasets)
    ]
    gate_rows = rows(GATES_FILE, GATE_COLUMNS, ["metric"], optional_file=True)
    gates = check_gates(gate_rows, models, datasets, METRICS.names(), errors)
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
        if check(item, row, errors):
            out[item.name] = item
    return out


def _check_model(m: ModelRow, row: CsvRow, errors: list[ConfigError]) -> bool:
    before = len(errors)
    if m.backend not in BACKENDS:
        errors.append(row.error("backend", f"unknown backend {m.backend!r}", BACKENDS.names()))
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
) -> bool:
    before = len(errors)
    if d.task not in TASKS:
        errors.append(row.error("task", f"unknown task {d.task!r}", TASKS.names()))
    else:
        _load_plugin(TASKS, d.task, row, "task", errors)
    if d.format not in FORMATS:
        errors.append(row.error("format", f"unknown format {d.format!r}", FORMATS.names()))
    elif _load_plugin(FORMATS, d.format, row, "format", errors):
        _check_page_columns(d, row, errors)
    path = d.path if d.path.is_absolute() or root is None else root / d.path
    if root is not None and not path.exists():
        errors.append(row.error("path", f"{str(d.path)!r} does not exist (looked for {path})"))
    if d.prompts and d.prompts not in prompts:
        errors.append(
            row.error(
                "prompts", f"no prompt collection {d.prompts!r} in prompts.csv", sorted(prompts) or None
            )
        )
    _check_metric_names(row, d.metrics, errors)
    return _ok(errors, before)


def _check_metric_names(row: CsvRow, names: tuple[str, ...], errors: list[ConfigError]) -> None:
    """Metric names, or a scorer's name (all of its metrics)."""
    allowed = sorted(set(METRICS.names()) | set(SCORERS.names()))
    for name in names:
        if name not in allowed:
            errors.append(row.error("metrics", f"unknown name {name!r}", allowed))
        elif name in METRICS:
            _load_plugin(METRICS, name, row, "metrics", errors)
        else:
            _load_plugin(SCORERS, name, row, "metrics", errors)


def _check_page_columns(d: DatasetRow, row: CsvRow, errors: list[ConfigError]) -> None:
    """dpi, pages, max_pages and reference: valid values, and only for a format that reads PDFs."""
    given = [c for c in PAGE_COLUMNS if getattr(d, c) is not None]
    if not given:
        return
    if not takes_page_options(FORMATS.get(d.format)):
        pdf_formats = [n for n in FORMATS.registered() if _reads_pdfs(n)]
        errors.append(
            row.error(
                given[0],
                f"format {d.format!r} reads images, not PDFs: the column does not apply",
                pdf_formats,
            )
        )
        return
    for column in given:
        try:
            PageOptions.of(**{column: getattr(d, column)})
        except ValueError as exc:
            errors.append(row.error(column, str(exc)))


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
    unknown = sorted(names - TEMPLATE_FIELDS)
    if unknown:
        errors.append(
            row.error("template", f"unknown variable(s) {', '.join(unknown)}", sorted(TEMPLATE_FIELDS))
        )
        return False
    return True


def _check_plan_row(p: PlanRow, row: CsvRow, errors: list[ConfigError], models: dict, datasets: dict) -> bool:
    before = len(errors)
    if p.model != "*" and p.model not in models:
        errors.append(row.error("model", f"unknown model {p.model!r}", ["*", *sorted(models)]))
    if p.dataset != "*" and p.dataset not in datasets:
        errors.append(row.error("dataset", f"unknown dataset {p.dataset!r}", ["*", *sorted(datasets)]))
    for column, value in (("max_samples", p.max_samples), ("concurrency", p.concurrency)):
        if value is not None and value < 1:
            errors.append(row.error(column, f"{value} is below the minimum 1"))
    _check_metric_names(row, p.metrics, errors)
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
            errors.append(row.error(column, f"unknown name {name!r}", allowed))
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
