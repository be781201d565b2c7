"""The metric registry: one `MetricSpec` per CSV name, registered with `@metric(...)`."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import polars as pl

from metrics._errors import UnknownNameError

T = TypeVar("T")

AGGREGATIONS = ("mean", "ratio", "f1_macro", "corpus_bleu")
TASKS = ("ocr", "vqa", "classification", "kie", "ordering")


@dataclass(frozen=True)
class MetricSpec:
    """A metric as the config names it.

    fn(table) returns one row per sample (columns sample_id, value and the extras the aggregation
    needs), and for some metrics extra rows with a `field`. `aggregation` is how `summarize`
    pools them: `mean` of value, `ratio` (sum num / sum den), `f1_macro`, `corpus_bleu`.
    `columns` are the input columns fn needs besides sample_id.
    """

    name: str
    higher_is_better: bool
    aggregation: str
    tasks: tuple[str, ...]
    fn: Callable[[pl.DataFrame], pl.DataFrame]
    columns: tuple[str, ...] = ("prediction", "references")
    description: str = ""


class Registry(Generic[T]):
    """Named items of one kind; an unknown name fails with the close matches and every known name."""

    def __init__(self, kind: str, plugins: str | None = None):
        self.kind = kind
        self.plugins = plugins
        """The vlmhyperbench.plugins registry whose entry points add names to this one (loaded when used)."""
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item

    def get(self, name: str) -> T:
        if name not in self._items and self.plugins:
            from vlmhyperbench.plugins import load_plugin

            load_plugin(self.plugins, name)  # registers it, or raises PluginError naming the package
        try:
            return self._items[name]
        except KeyError:
            known = self.names()
            raise UnknownNameError(
                self.kind, name, known, difflib.get_close_matches(name, known, n=2)
            ) from None

    def names(self) -> list[str]:
        """Registered names and the names plugins offer (not yet imported)."""
        if not self.plugins:
            return sorted(self._items)
        from vlmhyperbench.plugins import plugin_names

        return sorted(set(self._items) | set(plugin_names(self.plugins)))

    def is_registered(self, name: str) -> bool:
        return name in self._items

    def __contains__(self, name: object) -> bool:
        return name in self._items or (isinstance(name, str) and name in self.names())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


METRICS: Registry[MetricSpec] = Registry("metric", plugins="metrics")


def metric(
    name: str,
    *,
    higher_is_better: bool,
    aggregation: str = "mean",
    tasks: tuple[str, ...],
    columns: tuple[str, ...] = ("prediction", "references"),
):
    """Registers the decorated `fn(table) -> rows` as metric `name`."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation '{aggregation}' of metric '{name}' is not one of {AGGREGATIONS}")

    def register(fn: Callable[[pl.DataFrame], pl.DataFrame]):
        doc = (fn.__doc__ or "").strip().splitlines()
        METRICS.add(
            name, MetricSpec(name, higher_is_better, aggregation, tasks, fn, columns, doc[0] if doc else "")
        )
        return fn

    return register


def get_metric(name: str) -> MetricSpec:
    """The spec registered as `name`; `UnknownNameError` lists the known ones."""
    return METRICS.get(name)


def metric_names() -> list[str]:
    """Every registered metric name, sorted."""
    return METRICS.names()


_DEFAULTS = Registry[tuple[str, ...]]("task", plugins="tasks")
for _task, _names in {
    "ocr": ("cer", "wer"),
    "vqa": ("anls", "exact_match"),
    "classification": ("accuracy", "f1_macro"),
    "kie": ("field_f1",),
    "ordering": ("kendall_tau",),
}.items():
    _DEFAULTS.add(_task, _names)


def default_metrics(task: str) -> list[str]:
    """The metrics a dataset of `task` gets when its `metrics` cell is empty."""
    return list(_DEFAULTS.get(task))
