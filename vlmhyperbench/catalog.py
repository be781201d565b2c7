"""The configuration as code: models.csv, datasets.csv, prompts.csv and plan.csv, validated together.

`load_catalog(DIR)` reads and checks every file before anything runs; every problem found is reported
as `FILE:LINE: column 'NAME': what is wrong (allowed: ...)`. `expand_plan` turns the plan into the
(model, dataset) pairs of a run.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from .csvfile import CsvRow, read_csv_rows
from .errors import ConfigError, ConfigErrors

TASKS = ["ocr", "vqa", "classification", "kie", "ordering"]
ENV_KINDS = ["none", "venv", "docker"]
AGGREGATORS = ["general", "by_doc_class", "by_question_type", "by_doc_question", "by_field"]
DEFAULT_AGGREGATORS = ["general", "by_doc_class"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_FIELDS = {"question", "doc_class", "question_type", "classes", "fields"}

MODEL_COLUMNS = [
    "name",
    "backend",
    "model",
    "base_url",
    "api_key_env",
    "env",
    "image",
    "packages",
    "args",
    "concurrency",
    "max_tokens",
    "temperature",
    "gpus",
    "python",
    "served_model_name",
    "headers",
    "extra_body",
    "env_vars",
    "timeout_s",
    "memory_limit",
]
DATASET_COLUMNS = ["name", "task", "format", "path", "split", "prompts", "metrics"]
PROMPT_COLUMNS = ["collection", "doc_class", "question_type", "template"]
PLAN_COLUMNS = [
    "model",
    "dataset",
    "max_samples",
    "concurrency",
    "filter_doc_class",
    "filter_question_type",
    "perturbation",
    "metrics",
    "aggregators",
]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    line: int = 0


class ModelRow(_Row):
    """One model to benchmark: which backend serves it, in which environment, with which settings."""

    name: str
    backend: str
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    env: Literal["none", "venv", "docker"] | None = None
    """None: `none` for external backends, else the --env flag or VLMHB_ENV_PROVIDER."""
    image: str | None = None
    packages: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    concurrency: int = 8
    max_tokens: int = 512
    temperature: float = 0.0
    gpus: int = 0
    python: str | None = None
    served_model_name: str | None = None
    headers: dict[str, str] = {}
    extra_body: dict[str, Any] = {}
    env_vars: dict[str, str] = {}
    timeout_s: float | None = None
    memory_limit: str | None = None

    def api_key(self) -> SecretStr | None:
        """The key named by api_key_env, read now from the environment; never stored or logged."""
        import os

        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        return SecretStr(value) if value else None


class DatasetRow(_Row):
    """One dataset: which task it is, how to read it and how to score it."""

    name: str
    task: str
    format: str = "vlmhyperbench"
    path: Path
    split: str | None = None
    prompts: str | None = None
    metrics: tuple[str, ...] = ()


class PromptRow(_Row):
    collection: str
    doc_class: str | None = None
    question_type: str | None = None
    template: str


class PlanRow(_Row):
    model: str = "*"
    dataset: str = "*"
    max_samples: int | None = None
    concurrency: int | None = None
    filter_doc_class: tuple[str, ...] = ()
    filter_question_type: tuple[str, ...] = ()
    perturbation: str | None = None
    metrics: tuple[str, ...] = ()
    aggregators: tuple[str, ...] = ()


def dataset_key(dataset: str, perturbation: str | None) -> str:
    """A pair's file stem in a run folder: DATASET, or DATASET~PERTURBATION with unsafe characters as '-'."""
    if not perturbation:
        return dataset
    return f"{dataset}~{re.sub(r'[^A-Za-z0-9._-]+', '-', perturbation)}"


@dataclass(frozen=True)
class Pair:
    """One (model, dataset) unit of work of a run, with the plan's overrides applied."""

    model: ModelRow
    dataset: DatasetRow
    max_samples: int | None
    concurrency: int
    filter_doc_class: tuple[str, ...]
    filter_question_type: tuple[str, ...]
    perturbation: str | None
    metrics: tuple[str, ...]
    aggregators: tuple[str, ...]

    @property
    def dataset_key(self) -> str:
        """The dataset's name in result paths: the name, plus the perturbation when there is one."""
        return dataset_key(self.dataset.name, self.perturbation)


@dataclass
class Catalog:
    """Every row of a config folder, checked."""

    root: Path
    models: dict[str, ModelRow]
    datasets: dict[str, DatasetRow]
    prompts: dict[str, list[PromptRow]] = field(default_factory=dict)
    plan: list[PlanRow] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    gates: list = field(default_factory=list)
    """gates.csv's rows (vlmhyperbench.gates.GateRow), checked after the report."""
    warnings: list[ConfigError] = field(default_factory=list)
    """Rows that name a plugin that cannot be used: reported, not fatal (only the pairs that use it fail)."""


# ---------------------------------------------------------------- registries the catalog checks names against


def known_backends() -> dict[str, Any]:
    from environments.backends import BACKENDS

    return BACKENDS


def known_backend_names() -> list[str]:
    from environments.backends import backend_names

    return backend_names()


def known_tasks() -> list[str]:
    from vlmhyperbench.plugins import plugin_names

    return TASKS + [t for t in plugin_names("tasks") if t not in TASKS]


def known_formats() -> list[str]:
    from vlmhyperbench.datasets import dataset_formats

    return dataset_formats()


def known_metrics() -> list[str]:
    from metrics import metric_names

    return sorted(metric_names())


# ---------------------------------------------------------------- cell parsers


def _words(value: str) -> tuple[str, ...]:
    return tuple(shlex.split(value))


def _json_object(value: str) -> dict:
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ValueError('must be a JSON object, e.g. {"top_p": 0.9}')
    return parsed


def _pairs(value: str, sep: str) -> dict[str, str]:
    """`K=V K2=V2` (env_vars) or `Name: value; Name2: value` (headers)."""
    out: dict[str, str] = {}
    items = shlex.split(value) if sep == "=" else [p for p in value.split("|") if p.strip()]
    for item in items:
        key, found, val = item.partition(sep)
        if not found or not key.strip():
            raise ValueError(f"expected KEY{sep}VALUE items, got {item!r}")
        out[key.strip()] = val.strip()
    return out


CELL_PARSERS: dict[str, Callable[[str], Any]] = {
    "packages": _words,
    "args": _words,
    "metrics": _words,
    "aggregators": _words,
    "filter_doc_class": _words,
    "filter_question_type": _words,
    "extra_body": _json_object,
    "headers": lambda v: _pairs(v, ":"),
    "env_vars": lambda v: _pairs(v, "="),
}


def _build(model: type[_Row], row: CsvRow, errors: list[ConfigError]) -> Any | None:
    values: dict[str, Any] = {"line": row.line}
    for name, text in row.cells.items():
        parser = CELL_PARSERS.get(name)
        try:
            values[name] = parser(text) if parser else text
        except (ValueError, json.JSONDecodeError) as exc:
            errors.append(row.error(name, f"cannot parse {text!r}: {exc}"))
            return None
    try:
        return model(**values)
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else None
            found = row.cells.get(column or "", "")
            allowed = None
            if err["type"] == "literal_error":
                allowed = [
                    str(v) for v in err.get("ctx", {}).get("expected", "").replace("'", "").split(" or ")
                ]
                allowed = [a.strip() for part in allowed for a in part.split(",") if a.strip()]
            message = (
                "required value is empty"
                if err["type"] == "missing"
                else (f"{found!r} is not valid: {err['msg'].lower()}")
            )
            errors.append(row.error(column, message, allowed))
        return None


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
        prompt = _build(PromptRow, row, errors)
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
        if (p := _build(PlanRow, row, errors)) is not None
        and _check_plan_row(p, row, errors, models, datasets)
    ]
    from .gates import GATE_COLUMNS, GATES_FILE, check_gates

    gate_rows = rows(GATES_FILE, GATE_COLUMNS, ["metric"], optional_file=True)
    gates = check_gates(gate_rows, models, datasets, known_metrics(), errors)
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
    )
    expand_plan(catalog)  # incompatible explicit pairs and duplicates are config errors too
    return catalog


def _check_thresholds(root: Path, files: list[Path], errors: list[ConfigError]) -> None:
    """thresholds.csv (optional): regression thresholds per metric, checked now, applied by the report."""
    from .history import read_thresholds

    path = root / "thresholds.csv"
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
        item = _build(model, row, errors)
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
    if not _load_plugin("backends", m.backend, row, "backend", errors):
        return True  # a plugin backend that cannot be used: its pairs fail when its environment is built
    backends = known_backends()
    if m.backend not in backends:
        errors.append(row.error("backend", f"unknown backend {m.backend!r}", known_backend_names()))
        return False
    backend = backends[m.backend]
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
    if d.task not in known_tasks():
        errors.append(row.error("task", f"unknown task {d.task!r}", known_tasks()))
    elif d.task not in TASKS:
        _load_plugin("tasks", d.task, row, "task", errors)
    formats = known_formats()
    if d.format not in formats:
        errors.append(row.error("format", f"unknown format {d.format!r}", formats))
    else:
        _load_plugin("dataset_formats", d.format, row, "format", errors)
    path = d.path if d.path.is_absolute() or root is None else root / d.path
    if root is not None and not path.exists():
        errors.append(row.error("path", f"{str(d.path)!r} does not exist (looked for {path})"))
    if d.prompts and d.prompts not in prompts:
        errors.append(
            row.error(
                "prompts", f"no prompt collection {d.prompts!r} in prompts.csv", sorted(prompts) or None
            )
        )
    _check_names(row, "metrics", d.metrics, known_metrics(), errors, "metrics")
    return _ok(errors, before)


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
    _check_names(row, "metrics", p.metrics, known_metrics(), errors, "metrics")
    _check_names(row, "aggregators", p.aggregators, AGGREGATORS, errors)
    if p.perturbation:
        from vlmhyperbench.perturb import parse_perturbation
        from vlmhyperbench.plugins import PluginError

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
    registry: str | None = None,
) -> None:
    for name in names:
        if name not in allowed:
            errors.append(row.error(column, f"unknown name {name!r}", allowed))
        elif registry:
            _load_plugin(registry, name, row, column, errors)


class PluginRowError(ConfigError):
    """A row names a plugin that cannot be used: reported with the row, but not fatal."""


def _load_plugin(registry: str, name: str, row: CsvRow, column: str, errors: list[ConfigError]) -> bool:
    """Imports the plugin NAME names (if it is one); False, and the row reported, when it cannot be used."""
    from .plugins import try_load

    problem = try_load(registry, name)
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


# ---------------------------------------------------------------- the plan


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
    backends = known_backends()
    pairs: dict[tuple[str, str, str | None], tuple[Pair, int]] = {}
    errors: list[ConfigError] = []
    for row in plan:
        for m in catalog.models.values() if row.model == "*" else [catalog.models[row.model]]:
            for d in catalog.datasets.values() if row.dataset == "*" else [catalog.datasets[row.dataset]]:
                backend = backends.get(m.backend)  # None: a plugin that cannot be used (its pairs fail)
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
                key = (m.name, d.name, row.perturbation)
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
                pairs[key] = (
                    Pair(
                        model=m,
                        dataset=d,
                        max_samples=max_samples or row.max_samples,
                        concurrency=row.concurrency or m.concurrency,
                        filter_doc_class=row.filter_doc_class,
                        filter_question_type=row.filter_question_type,
                        perturbation=row.perturbation,
                        metrics=row.metrics or d.metrics,
                        aggregators=row.aggregators or tuple(DEFAULT_AGGREGATORS),
                    ),
                    row.line,
                )
    if errors:
        raise ConfigErrors(errors)
    return [
        p
        for p, _ in pairs.values()
        if (not models or p.model.name in models) and (not datasets or p.dataset.name in datasets)
    ]


def dataset_path(catalog: Catalog, d: DatasetRow) -> Path:
    return d.path if d.path.is_absolute() else (catalog.root / d.path).resolve()
