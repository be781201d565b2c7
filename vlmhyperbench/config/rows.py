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
    # Each column's docstring is its description in the generated reference (tools/docs_reference.py).
    model_config = ConfigDict(frozen=True, extra="forbid")
    line: int = 0


class ModelRow(_Row):
    """One model to benchmark: which backend serves it, in which environment, with which settings."""

    name: str
    """Unique; it names the model's folders in the run folder."""
    backend: str
    """What serves it: `openai` (an endpoint that already runs), `vllm`, `sglang`, `transformers`,
    `transformers-serve`, `rapidocr`, `tesseract`, or a plugin's backend."""
    model: str = ""
    """The model id or local folder given to the backend (`openai`: the name the endpoint serves)."""
    base_url: str | None = None
    """`openai` only: the endpoint, e.g. `http://gpu-host:8000/v1`."""
    api_key_env: str | None = None
    """`openai` only: the NAME of the environment variable that holds the key (never the key)."""
    env: Literal["none", "venv", "docker"] | None = None
    """`none` (an external endpoint), `venv` or `docker`. Empty: `none` for external backends, else the
    --env flag or VLMHB_ENV_PROVIDER."""
    image: str | None = None
    """`docker`: the base image (default: the local one); an image with Python is the model's environment."""
    packages: tuple[str, ...] = ()
    """Extra pip requirements, space-separated; they replace a backend default of the same name."""
    args: tuple[str, ...] = ()
    """Extra server arguments, space-separated (shell-style quoting; never run by a shell). `transformers`
    rows may give `--engine-arg KEY=VALUE` pairs (dtype, device, device_map, attn_implementation,
    trust_remote_code, max_pixels, max_new_tokens, warmup), translated for `transformers serve`."""
    concurrency: int = 8
    """Requests in flight at once."""
    max_tokens: int = 512
    """The most tokens an answer may have."""
    temperature: float = 0.0
    """Sampling temperature of every request."""
    gpus: int = 0
    """GPUs the server gets (tensor parallel size of vllm and sglang; a `gpu:<host>` slot on pools)."""
    python: str | None = None
    """Python version of the environment (default: the orchestrator's)."""
    served_model_name: str | None = None
    """The model name sent in requests (vllm, sglang: also their `--served-model-name`); `transformers serve`
    cannot rename, so its requests name the model as given."""
    headers: dict[str, str] = {}
    """Extra HTTP headers of every request, `Name: value` items separated by `|`."""
    extra_body: dict[str, Any] = {}
    """A JSON object merged into every request body, e.g. `{"top_p": 0.9}`."""
    env_vars: dict[str, str] = {}
    """`KEY=VALUE` variables for the server, space-separated (part of the environment's hash)."""
    timeout_s: float | None = None
    """Timeout of one request (default VLMHB_REQUEST_TIMEOUT_S)."""
    memory_limit: str | None = None
    """`docker`: the server container's memory limit, e.g. `8g` (default VLMHB_CONTAINER_MEMORY_LIMIT)."""
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
    """Unique; it names the dataset's files in the run folder."""
    task: str = ""
    """`ocr`, `vqa`, `classification`, `kie`, `ordering`, `parse` (or a plugin's); empty with a benchmark:
    the benchmark's."""
    format: str | None = None
    """The reader (see Dataset formats). Empty: the benchmark's own reader, else `vlmhyperbench`."""
    path: str
    """A path (relative to the config folder), `default:PATH` (PATH in the embedded default config, so that a
    config copied anywhere still finds its sample data), `hf://ORG/NAME[@REVISION]`, or an offline bundle."""
    split: str | None = None
    """Only the samples of this split (a benchmark: its split, default the benchmark's)."""
    prompts: str | None = None
    """A prompts.csv collection; empty: the task's (or the benchmark's) built-in prompt."""
    metrics: tuple[str, ...] = ()
    """Space-separated metric names (a scorer's name stands for all its metrics); empty: the task's (or the
    benchmark's official) metrics."""
    benchmark: str | None = None
    """A standard benchmark by name: task, reader, split, prompt, metrics and sub-splits come from it."""
    dpi: int | None = None
    """PDF formats: the resolution pages are rendered at (default 144; also MMLongBench-Doc's official
    resolution, its scripts' default)."""
    pages: str | None = None
    """PDF formats: all (a document is one sample), each (a page is one sample), N or N-M; `evidence` for
    mmlongbench_doc (only the annotated evidence pages)."""
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
    text_first: bool = False
    """The prompt's text goes before the images (the benchmark's official order)."""

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
    """The collection a datasets.csv row names in `prompts` (`judge` and `judge_extract`: judge prompts)."""
    doc_class: str | None = None
    """The document class it is for; empty: any."""
    question_type: str | None = None
    """The question type it is for; empty: any."""
    template: str
    """Jinja2 over the sample's fields (question, doc_class, question_type, classes, fields), rendered in
    a sandbox; a judge prompt also sees answer, references and prompt."""


class PlanRow(_Row):
    model: str = "*"
    """A models.csv name, or `*`: every model that can answer the dataset (judges left out)."""
    dataset: str = "*"
    """A datasets.csv name, or `*`: every dataset."""
    max_samples: int | None = None
    """At most this many samples of the dataset (the first ones, in file order)."""
    concurrency: tuple[int, ...] = ()
    """One level, or a load curve: several levels (`1 4 16 64`) run on the same samples, lowest first."""
    filter_doc_class: tuple[str, ...] = ()
    """Only samples of these document classes (space-separated)."""
    filter_question_type: tuple[str, ...] = ()
    """Only samples of these question types (space-separated)."""
    perturbation: str | None = None
    """Image perturbations `NAME[:VALUE]` chained with `+` (`blur:2+jpeg:30`): a pair of its own."""
    metrics: tuple[str, ...] = ()
    """Metrics for this pair, replacing the dataset's."""
    aggregators: tuple[str, ...] = ()
    """`general`, `by_doc_class`, `by_question_type`, `by_doc_question`, `by_field`... (empty: the task's)."""
    judge: tuple[str, ...] = ()
    """The pair's judges (models.csv names), replacing the dataset's."""
    judge_images: bool | None = None
    """`yes`: the judges see the pages too. Empty: the dataset's."""

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
