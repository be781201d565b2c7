"""Plugins: names that other packages add to the project's registries through entry points.

One entry-point group per registry; a plugin package declares, in its pyproject.toml:

    [project.entry-points."vlmhyperbench.metrics"]
    word_f1 = "my_package.metrics:word_f1"        # a function decorated with @metrics.metric("word_f1", ...)

    registry         group                           the entry point names
    backends         vlmhyperbench.backends          an environments.backends.Backend
    server_engines   vlmhyperbench.server_engines    an Engine class (loaded inside the model's environment)
    dataset_formats  vlmhyperbench.dataset_formats   a reader: fn(path) -> list[Sample]
    tasks            vlmhyperbench.tasks             a TaskKind (built-in prompt + default metrics)
    metrics          vlmhyperbench.metrics           a MetricSpec, or a function that @metric registered
    perturbations    vlmhyperbench.perturbations     a PerturbationKind, or a step that
                                                     @register_perturbation registered

Lazy: the installed packages' metadata is read on the first lookup of a name a registry does not have
(or on listing), and a plugin's code is imported only when its name is used. A plugin that fails to
import (or registers nothing under its name) raises PluginError, which names its package and entry point;
the config check reports it on the rows that name it, and only the pairs that use it fail. A built-in name
always wins over a plugin's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import BenchError

BUILTIN_PACKAGE = "vlmhyperbench"

REGISTRIES: dict[str, str] = {
    "backends": "vlmhyperbench.backends",
    "server_engines": "vlmhyperbench.server_engines",
    "dataset_formats": "vlmhyperbench.dataset_formats",
    "tasks": "vlmhyperbench.tasks",
    "metrics": "vlmhyperbench.metrics",
    "perturbations": "vlmhyperbench.perturbations",
}
"""registry -> its entry-point group."""

KINDS = {
    "backends": "backend",
    "server_engines": "server engine",
    "dataset_formats": "dataset format",
    "tasks": "task",
    "metrics": "metric",
    "perturbations": "perturbation",
}


class PluginError(BenchError):
    """A plugin that cannot be used: its import failed, or it registered nothing under its name."""

    def __init__(self, registry: str, name: str, package: str, entry_point: str, reason: str):
        self.registry, self.name, self.package, self.entry_point, self.reason = (
            registry,
            name,
            package,
            entry_point,
            reason,
        )
        super().__init__(
            f"plugin {KINDS[registry]} '{name}' from package '{package}' (entry point "
            f"'{entry_point}' in group '{REGISTRIES[registry]}') cannot be used: {reason}"
        )


@dataclass(frozen=True)
class PluginEntry:
    """One entry point of an installed package, not yet imported."""

    registry: str
    name: str
    value: str
    package: str
    version: str

    @property
    def entry_point(self) -> str:
        return f"{self.name} = {self.value}"


@dataclass(frozen=True)
class TaskKind:
    """A task as datasets.csv names it: its built-in prompt (Jinja2, as in prompts.csv) and the metrics a
    dataset of the task gets when its `metrics` cell is empty."""

    name: str
    prompt: str
    metrics: tuple[str, ...]
    description: str = ""


_entries: dict[str, dict[str, PluginEntry]] = {}
_failures: dict[tuple[str, str], PluginError] = {}
_loaded: set[tuple[str, str]] = set()
_lock = threading.RLock()  # Prefect runs tasks in threads: a plugin is imported and registered once


def refresh() -> None:
    """Forgets what was discovered (after installing a package into the running interpreter; tests).
    What plugins registered stays registered."""
    _entries.clear()
    _failures.clear()
    _loaded.clear()


def plugin_entries(registry: str) -> dict[str, PluginEntry]:
    """The entry points of REGISTRY's group, by name (read once; a name two packages claim: the first)."""
    if registry not in _entries:
        found: dict[str, PluginEntry] = {}
        for ep in entry_points(group=REGISTRIES[registry]):
            dist = getattr(ep, "dist", None)
            found.setdefault(
                ep.name,
                PluginEntry(
                    registry,
                    ep.name,
                    ep.value,
                    dist.metadata["Name"] if dist else "?",
                    dist.version if dist else "?",
                ),
            )
        _entries[registry] = found
    return _entries[registry]


def plugin_names(registry: str) -> list[str]:
    return sorted(plugin_entries(registry))


def load_plugin(registry: str, name: str) -> bool:
    """Imports the plugin NAME of REGISTRY and registers what it names, unless the registry already has
    NAME. False when no plugin has that name; PluginError (the same one again on every later call) when
    the plugin cannot be used."""
    with _lock:
        return _load(registry, name)


def _load(registry: str, name: str) -> bool:
    ops = _OPS[registry]
    if ops.registered(name):
        return True
    entry = plugin_entries(registry).get(name)
    if entry is None:
        return False
    if (registry, name) in _failures:
        raise _failures[(registry, name)]
    try:
        obj = EntryPoint(entry.name, entry.value, REGISTRIES[registry]).load()
        if not ops.adopt(name, obj) and not ops.registered(name):
            raise _Unregistered(
                f"it loaded {type(obj).__name__} {entry.value!r}, which registers no "
                f"{KINDS[registry]} named '{name}' ({ops.expects})"
            )
    except Exception as exc:  # ImportError, SyntaxError, a registration conflict: all end the same way
        reason = str(exc) if isinstance(exc, _Unregistered) else f"{type(exc).__name__}: {exc}"
        error = PluginError(registry, name, f"{entry.package} {entry.version}", entry.entry_point, reason)
        _failures[(registry, name)] = error
        raise error from exc
    _loaded.add((registry, name))
    return True


def try_load(registry: str, name: str) -> PluginError | None:
    """load_plugin's PluginError, or None (loaded, built-in, or not a plugin name)."""
    try:
        load_plugin(registry, name)
    except PluginError as exc:
        return exc
    return None


class _Unregistered(Exception):
    pass


# ---------------------------------------------------------------- what each registry holds


@dataclass(frozen=True)
class _Ops:
    registered: Callable[[str], bool]
    """NAME is in the registry now (built in, or registered by a plugin already loaded)."""
    builtin: Callable[[], list[str]]
    adopt: Callable[[str, Any], bool]
    """Registers what an entry point loaded, when importing it did not already; True if it did."""
    expects: str
    describe: Callable[[str], str]


def _backends():
    from environments import backends

    return backends


def _adopt_backend(name: str, obj: Any) -> bool:
    b = _backends()
    if isinstance(obj, b.Backend) and name not in b.BACKENDS:
        b.BACKENDS[name] = obj
        return True
    return False


def _engines():
    from environments.servers import engines

    return engines


def _adopt_engine(name: str, obj: Any) -> bool:
    # Engines are loaded inside the model's environment (engines.load_engine_class); here only checked.
    return isinstance(obj, type) and callable(getattr(obj, "generate", None))


def _datasets():
    from vlmhyperbench.datasets import _registry

    return _registry


def _adopt_format(name: str, obj: Any) -> bool:
    readers = _datasets()._READERS
    if name not in readers and callable(obj):
        readers[name] = obj
        return True
    return False


def _metrics():
    import metrics  # noqa: F401  (registers the built-in metrics)
    from metrics import _registry

    return _registry


def _adopt_metric(name: str, obj: Any) -> bool:
    reg = _metrics()
    if isinstance(obj, reg.MetricSpec) and not reg.METRICS.is_registered(name):
        reg.METRICS.add(name, obj)
        return True
    return False


def _perturb():
    from vlmhyperbench import perturb

    return perturb


def _adopt_perturbation(name: str, obj: Any) -> bool:
    p = _perturb()
    if isinstance(obj, p.PerturbationKind) and name not in p.PERTURBATIONS:
        p.PERTURBATIONS[name] = obj
        return True
    return False


_TASKS: dict[str, TaskKind] = {}


def _builtin_tasks() -> list[str]:
    from vlmhyperbench.catalog import TASKS

    return list(TASKS)


def _adopt_task(name: str, obj: Any) -> bool:
    if not isinstance(obj, TaskKind):
        return False
    _TASKS[name] = obj
    reg = _metrics()
    if not reg._DEFAULTS.is_registered(name):
        reg._DEFAULTS.add(name, tuple(obj.metrics))
    return True


def task_kind(name: str) -> TaskKind:
    """The plugin task NAME (PluginError if it cannot be used, KeyError if there is none)."""
    if name not in _TASKS and not load_plugin("tasks", name):
        raise KeyError(f"unknown task {name!r}")
    return _TASKS[name]


def task_prompt(task: str) -> str:
    """The built-in prompt of a plugin task."""
    return task_kind(task).prompt


def _doc(obj: Any) -> str:
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return lines[0] if lines else ""


_OPS: dict[str, _Ops] = {
    "backends": _Ops(
        lambda n: n in _backends().BACKENDS,
        lambda: sorted(_backends().BACKENDS),
        _adopt_backend,
        "point the entry point at an environments.backends.Backend",
        lambda n: _backend_doc(n),
    ),
    "server_engines": _Ops(
        lambda n: n in _engines().ENGINES,
        lambda: sorted(_engines().ENGINES),
        _adopt_engine,
        "point the entry point at an Engine subclass",
        lambda n: "",
    ),
    "dataset_formats": _Ops(
        lambda n: n in _datasets()._READERS,
        lambda: sorted(_datasets()._READERS),
        _adopt_format,
        "point the entry point at a reader: fn(path) -> list[Sample]",
        lambda n: _doc(_datasets()._READERS[n]) if callable(_datasets()._READERS[n]) else "",
    ),
    "tasks": _Ops(
        lambda n: n in _TASKS or n in _builtin_tasks(),
        _builtin_tasks,
        _adopt_task,
        "point the entry point at a vlmhyperbench.plugins.TaskKind",
        lambda n: _task_doc(n),
    ),
    "metrics": _Ops(
        lambda n: _metrics().METRICS.is_registered(n),
        lambda: sorted(_metrics().METRICS._items),
        _adopt_metric,
        "decorate the function with @metrics.metric(name, ...)",
        lambda n: _metric_doc(n),
    ),
    "perturbations": _Ops(
        lambda n: n in _perturb().PERTURBATIONS,
        lambda: sorted(_perturb().PERTURBATIONS),
        _adopt_perturbation,
        "decorate the step with @register_perturbation(name, ...)",
        lambda n: f"unit: {_perturb().PERTURBATIONS[n].unit}",
    ),
}


def _backend_doc(name: str) -> str:
    b = _backends().BACKENDS[name]
    return (
        "external endpoint"
        if b.external
        else ("the project's server" if b.own_server else "its own server")
        + (f"; tasks: {', '.join(sorted(b.tasks))}" if b.tasks else "")
    )


def _task_doc(name: str) -> str:
    kind = _TASKS.get(name)
    defaults = " ".join(_metrics().default_metrics(name))
    return (f"{kind.description}; " if kind and kind.description else "") + f"default metrics: {defaults}"


def _metric_doc(name: str) -> str:
    spec = _metrics().METRICS.get(name)
    return f"{'↑' if spec.higher_is_better else '↓'} {spec.description}".strip()


# ---------------------------------------------------------------- listing


@dataclass(frozen=True)
class Listed:
    """One name of one registry, as `python -m flows.benchmark --list` shows it."""

    registry: str
    name: str
    package: str
    status: str
    """`ok`, `error: ...` (a plugin that cannot be used), or `shadowed by the built-in` (a plugin's name
    that a built-in already has)."""
    description: str = ""


def list_registries() -> list[Listed]:
    """Every name of every registry with the package it comes from; every plugin is loaded to show whether
    it can be used."""
    out: list[Listed] = []
    for registry, ops in _OPS.items():
        builtin = set(ops.builtin())
        plugins = plugin_entries(registry)
        for name in sorted(builtin | set(plugins)):
            entry = plugins.get(name)
            origin = f"{entry.package} {entry.version}" if entry else BUILTIN_PACKAGE
            if (
                entry is not None
                and name in builtin
                and (registry, name) not in _loaded
                and not _registered_by(entry, registry, name)
            ):
                out.append(Listed(registry, name, origin, "shadowed by the built-in"))
                out.append(Listed(registry, name, BUILTIN_PACKAGE, "ok", _describe(ops, name)))
                continue
            error = try_load(registry, name) if entry is not None else None
            if error is not None:
                out.append(Listed(registry, name, origin, f"error: {error.reason}"))
            else:
                out.append(Listed(registry, name, origin, "ok", _describe(ops, name)))
    return out


def _registered_by(entry: PluginEntry, registry: str, name: str) -> bool:
    """Whether the registered NAME is the plugin's own (its module is the entry point's module)."""
    module = entry.value.partition(":")[0]
    try:
        item = {
            "backends": lambda: _backends().BACKENDS[name],
            "dataset_formats": lambda: _datasets()._READERS[name],
            "metrics": lambda: _metrics().METRICS.get(name).fn,
            "perturbations": lambda: _perturb().PERTURBATIONS[name].apply,
            "tasks": lambda: _TASKS.get(name),
            "server_engines": lambda: None,
        }[registry]()
    except Exception:
        return False
    return getattr(item, "__module__", None) == module


def _describe(ops: _Ops, name: str) -> str:
    try:
        return ops.describe(name)
    except Exception:  # a description is a courtesy
        return ""


def print_registries(console=None) -> int:
    """The listing as one rich table per registry; returns how many plugins cannot be used."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    rows = list_registries()
    broken = 0
    for registry in REGISTRIES:
        console.print(f"[bold]{registry}[/]  [dim]entry-point group {REGISTRIES[registry]}[/]")
        table = Table()
        for column in ("name", "package", "status", "description"):
            table.add_column(column, overflow="fold")
        for r in (r for r in rows if r.registry == registry):
            style = "red" if r.status.startswith("error") else "dim" if r.status != "ok" else ""
            broken += r.status.startswith("error")
            table.add_row(
                escape(r.name), escape(r.package), escape(r.status), escape(r.description), style=style
            )
        console.print(table)
    return broken
