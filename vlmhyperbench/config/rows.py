"""The rows of the config files, as typed records: models.csv, datasets.csv, prompts.csv, plan.csv.

A row is built from its CSV cells by `build_row`, which parses list, JSON and KEY=VALUE cells and turns
every validation problem into `FILE:LINE: column 'NAME': what is wrong (allowed: ...)`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from vlmhb_core.errors import ConfigError
from vlmhyperbench.config.csv_rows import CsvRow

DEFAULT_PREFIX = "default:"
"""datasets.csv's `path` prefix that names a file of the embedded default config (configs/default)."""

ENV_KINDS = ["none", "venv", "docker"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QUERY_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TEMPLATE_FIELDS = {"question", "doc_class", "question_type", "classes", "fields"}
JUDGE_COLLECTIONS = ("judge", "judge_extract")
"""prompts.csv collections of judge prompts: `judge` grades an answer (GRADE: C / GRADE: I), `judge_extract`
extracts the final answer (ANSWER: ...)."""
JUDGE_TEMPLATE_FIELDS = TEMPLATE_FIELDS | {"answer", "references", "prompt"}
"""A judge prompt also sees the model's answer (reasoning removed), the references and the model's prompt."""

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
    "api_version",
    "deployment",
    "query",
    "cost_per_hour",
    "price_in",
    "price_out",
]
DATASET_COLUMNS = [
    "name",
    "task",
    "format",
    "path",
    "split",
    "prompts",
    "metrics",
    "benchmark",
    "dpi",
    "pages",
    "max_pages",
    "reference",
    "judge",
    "judge_images",
    "reasoning",
]
PAGE_COLUMNS = ("dpi", "pages", "max_pages", "reference")
"""datasets.csv columns of the formats that read PDFs (vlmhyperbench.datasets.PageOptions)."""
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
    "judge",
    "judge_images",
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
    api_version: str | None = None
    """Azure OpenAI's api-version (`openai` rows): base_url is then the resource's endpoint."""
    deployment: str | None = None
    """Azure OpenAI's deployment name (default: `model`)."""
    query: dict[str, str] = {}
    """Query parameters of every request (`NAME=VALUE`; a value `${VAR}` is read from the environment)."""
    cost_per_hour: float | None = None
    """US dollars per hour of the model's server (a rented GPU box, an endpoint billed by the hour)."""
    price_in: float | None = None
    """US dollars per million input tokens (an API priced by the token)."""
    price_out: float | None = None
    """US dollars per million output tokens."""

    def api_key(self) -> SecretStr | None:
        """The key named by api_key_env, read now from the environment; never stored or logged."""
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        return SecretStr(value) if value else None

    def query_params(self) -> dict[str, str]:
        """The row's query parameters with each `${VAR}` read now from the environment (a gateway's access
        code stays in a variable, never in the config copy, the logs or the results)."""
        return {
            name: QUERY_VAR.sub(lambda m: os.environ.get(m.group(1), ""), v) for name, v in self.query.items()
        }

    def query_variables(self) -> list[str]:
        """The environment variables the row's query parameters name."""
        return [m.group(1) for v in self.query.values() for m in QUERY_VAR.finditer(v)]


class DatasetRow(_Row):
    """One dataset: which task it is, how to read it and how to score it. A row that names a `benchmark`
    (vlmhyperbench.benchmarks) gets its task, reader, prompt, metrics and aggregators from it, unless the
    row sets them; the catalog fills them in (`with_benchmark`)."""

    name: str
    task: str = ""
    format: str | None = None
    """None: the benchmark's own reader, else `vlmhyperbench`."""
    path: str
    """A path (relative to the config folder), `default:PATH` (PATH in the embedded default config, so that a
    config copied anywhere still finds its sample data), `hf://ORG/NAME[@REVISION]`, or an offline bundle."""
    split: str | None = None
    prompts: str | None = None
    metrics: tuple[str, ...] = ()
    benchmark: str | None = None
    dpi: int | None = None
    """PDF formats: the resolution pages are rendered at (default 144)."""
    pages: str | None = None
    """PDF formats: all (a document is one sample), each (a page is one sample), N or N-M."""
    max_pages: int | None = None
    """PDF formats: at most this many pages of each document."""
    reference: str | None = None
    """PDF formats: annotation (default) or text_layer (the PDF's own text is the reference)."""
    judge: tuple[str, ...] = ()
    """The models.csv rows that judge this dataset's judged metrics (several vote by majority)."""
    judge_images: bool = False
    """Whether the judges see the document's images with the question (a vision judge)."""
    reasoning: str | None = None
    """Reasoning blocks removed before scoring: None/`strip` (the default tags), `keep`, `strip:TAG,TAG`."""
    # Filled in from the benchmark by the catalog; not columns of datasets.csv.
    prompt_template: str | None = None
    """The prompt used when the row names no prompt collection (None: the task's built-in one)."""
    aggregators: tuple[str, ...] = ()
    """The aggregators a plan row gets when it names none (empty: the task's defaults)."""

    @field_validator("path", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(DEFAULT_PREFIX):
            from vlmhyperbench.config.default import default_config

            return str((Path(default_config()) / value.removeprefix(DEFAULT_PREFIX)).resolve())
        return str(value) if isinstance(value, Path) else value

    @property
    def reader_format(self) -> str:
        """The dataset format to read it with when no benchmark reads it."""
        return self.format or "vlmhyperbench"

    def page_options(self):
        """The row's PageOptions (ValueError naming a bad value; the catalog has checked them)."""
        from vlmhyperbench.datasets import PageOptions

        return PageOptions.of(
            dpi=self.dpi, pages=self.pages, max_pages=self.max_pages, reference=self.reference
        )


class PromptRow(_Row):
    collection: str
    doc_class: str | None = None
    question_type: str | None = None
    template: str


class PlanRow(_Row):
    model: str = "*"
    dataset: str = "*"
    max_samples: int | None = None
    concurrency: tuple[int, ...] = ()
    """One level, or a load curve: several levels (`1 4 16 64`) run on the same samples, lowest first."""
    filter_doc_class: tuple[str, ...] = ()
    filter_question_type: tuple[str, ...] = ()
    perturbation: str | None = None
    metrics: tuple[str, ...] = ()
    aggregators: tuple[str, ...] = ()
    judge: tuple[str, ...] = ()
    judge_images: bool | None = None
    """None: the dataset's."""

    @field_validator("concurrency", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        if isinstance(value, str):
            words = value.replace(",", " ").split()
            bad = [w for w in words if not w.isdigit()]
            if bad:
                raise ValueError(
                    f"expected whole numbers separated by spaces (e.g. 1 4 16 64), got {bad[0]!r}"
                )
            return tuple(sorted({int(w) for w in words}))
        if isinstance(value, int):
            return (value,)
        return value


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


def _yes_no(value: str) -> bool:
    text = value.strip().lower()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    raise ValueError("must be yes or no")


CELL_PARSERS: dict[str, Callable[[str], Any]] = {
    "packages": _words,
    "args": _words,
    "metrics": _words,
    "aggregators": _words,
    "filter_doc_class": _words,
    "filter_question_type": _words,
    "judge": _words,
    "judge_images": _yes_no,
    "extra_body": _json_object,
    "headers": lambda v: _pairs(v, ":"),
    "env_vars": lambda v: _pairs(v, "="),
    "query": lambda v: _pairs(v.replace("&", " "), "="),
}


def build_row(model: type[_Row], row: CsvRow, errors: list[ConfigError]) -> Any | None:
    """The typed row of ROW's cells, or None with its problems appended to ERRORS."""
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
