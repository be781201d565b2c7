"""One registry type for every name the CSV files use: backends, server engines, dataset formats, tasks,
metrics, perturbations, and what comes next (benchmarks, scorers, judges).

Each concept owns its registry beside its code:

    METRICS = Registry("metrics", kind="metric", expects="decorate the function with @metrics.metric(...)",
                       accept=lambda obj: obj if isinstance(obj, MetricSpec) else None)
    METRICS.add("cer", spec)                              # built in, ready
    FORMATS.add_lazy("jsonl", "vlmhyperbench.datasets._json:read_jsonl")   # imported on first use
    METRICS.get("cer"); "cer" in METRICS; METRICS.names()

Plugins: a package declares entry points in the group `vlmhyperbench.<registry name>`:

    [project.entry-points."vlmhyperbench.metrics"]
    word_f1 = "my_package.metrics:word_f1"

Their names are known as soon as a registry is asked for a name it lacks (or for its names), without
importing anything; a plugin's code is imported only when its name is used. Importing it may register
the name itself (a decorator), or the registry's `accept` turns the loaded object into an item. A plugin
that cannot be used raises PluginError, which names its package and entry point, and the same error
again on every later use. A built-in name always wins over a plugin's. An unknown name raises
UnknownNameError with the close matches.

A registry may also build parametrised names on first use (`resolve`): METRICS builds `anls|judge` and
`judge_extract:anls` from `anls`, and registers them under those names.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from vlmhb_core.errors import PluginError, UnknownNameError

T = TypeVar("T")

BUILTIN_PACKAGE = "vlmhyperbench"
GROUP_PREFIX = "vlmhyperbench."

_importing = threading.local()
"""How deep this thread is in importing plugin code: what gets registered meanwhile is a plugin's, in
whichever registry (one plugin module may register a metric and a perturbation)."""


@dataclass(frozen=True)
class PluginEntry:
    """One entry point of an installed package, not yet imported."""

    name: str
    value: str
    group: str
    package: str
    version: str

    @property
    def entry_point(self) -> str:
        return f"{self.name} = {self.value}"

    @property
    def origin(self) -> str:
        return f"{self.package} {self.version}"


@dataclass(frozen=True)
class Listed:
    """One name of one registry, as `--list` shows it."""

    registry: str
    name: str
    package: str
    status: str
    """`ok`, `error: ...` (a plugin that cannot be used), or `shadowed by the built-in`."""
    description: str = ""


@dataclass(frozen=True)
class _Lazy:
    target: str
    """`module:attr`, imported on first use."""


class _Unregistered(Exception):
    pass


def _first_doc_line(obj: Any) -> str:
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return lines[0] if lines else ""


class Registry(Generic[T]):
    """Named items of one kind, built in or from plugins (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        kind: str,
        expects: str = "",
        accept: Callable[[Any], T | None] | None = None,
        describe: Callable[[T], str] | None = None,
        load_plugins: bool = True,
        from_entry: Callable[[PluginEntry], T] | None = None,
        sort_names: bool = True,
        resolve: Callable[[str], T | None] | None = None,
    ):
        self.name = name
        """The registry's name: `metrics`; its entry-point group is `vlmhyperbench.metrics`."""
        self.kind = kind
        """One item, in messages: `metric`."""
        self.group = GROUP_PREFIX + name
        self.expects = expects
        """What an entry point must name, for the error when it names something else."""
        self._accept = accept or (lambda obj: obj)
        self._describe = describe or _first_doc_line
        self._load_plugins = load_plugins
        self._sort_names = sort_names
        """False: names() lists the built-ins in the order they were added (then plugins, sorted)."""
        self._from_entry = from_entry
        """Builds a plugin's item from its entry point without importing it (server engines, whose code
        runs only inside model environments)."""
        self._resolve_name = resolve
        """Builds the item of a parametrised name (`anls|judge`) that nothing registered: its item, None
        when the name is not of its form, or an error (UnknownNameError...) saying what is wrong with it.
        What it builds is registered under that name."""
        self._items: dict[str, T | _Lazy] = {}
        self._plugin_items: set[str] = set()
        self._entries: dict[str, PluginEntry] | None = None
        self._failures: dict[str, PluginError] = {}
        self._lock = threading.RLock()  # Prefect runs tasks in threads: a plugin loads once

    # ---------------------------------------------------------------- registering

    def add(self, name: str, item: T, *, replace: bool = False) -> T:
        """Registers ITEM as NAME; a second registration of a name is a bug (ValueError) unless REPLACE,
        or unless the first was this name's lazy entry (the module being imported registers it)."""
        with self._lock:
            current = self._items.get(name)
            if current is not None and not replace and not isinstance(current, _Lazy):
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            if getattr(_importing, "depth", 0):
                self._plugin_items.add(name)
        return item

    def add_lazy(self, name: str, target: str) -> None:
        """Registers NAME as `module:attr`, imported (and passed through `accept`) on first use."""
        self.add(name, _Lazy(target))  # type: ignore[arg-type]

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`: `@FORMATS.register("myformat")`."""

        def wrap(item: T) -> T:
            return self.add(name, item)

        return wrap

    def remove(self, name: str) -> None:
        """Forgets NAME (tests that install a plugin for their own length)."""
        with self._lock:
            self._items.pop(name, None)
            self._plugin_items.discard(name)
            self._failures.pop(name, None)

    def refresh(self) -> None:
        """Forgets the discovered entry points and plugin failures (after installing a package into the
        running interpreter; tests). What plugins registered stays registered."""
        with self._lock:
            self._entries = None
            self._failures.clear()

    # ---------------------------------------------------------------- looking up

    def get(self, name: str) -> T:
        """The item NAME: a built-in, else a plugin's (imported now). UnknownNameError when nothing has
        that name; PluginError when a plugin has it but cannot be used."""
        with self._lock:
            if name not in self._items and self._resolve_name is not None:
                built = self._resolve_name(name)
                if built is not None:
                    self._items[name] = built
            if name not in self._items and not self._load_plugin(name):
                known = self.names()
                raise UnknownNameError(
                    self.kind, name, known, difflib.get_close_matches(name, known, n=2, cutoff=0.6)
                )
            item = self._items[name]
            if isinstance(item, _Lazy):
                item = self._resolve(name, item)
            return item

    def find(self, name: str) -> T | None:
        """`get`, or None when nothing has that name (a PluginError still raises)."""
        try:
            return self.get(name)
        except UnknownNameError:
            return None

    def names(self) -> list[str]:
        """Every name: built in, registered, and offered by plugins (not yet imported)."""
        with self._lock:
            if self._sort_names:
                return sorted(set(self._items) | set(self.plugin_entries()))
            return [*self._items, *sorted(set(self.plugin_entries()) - set(self._items))]

    def builtin_names(self) -> list[str]:
        return sorted(n for n in self._items if n not in self._plugin_items)

    def items(self) -> list[tuple[str, T]]:
        """(name, item) of every registered name, lazy built-ins imported now (plugins not looked up)."""
        return [(name, self.get(name)) for name in list(self._items)]

    def registered(self) -> list[str]:
        """The names registered now, built in or by plugins already loaded (no plugin is looked up)."""
        return list(self._items)

    def is_registered(self, name: str) -> bool:
        """NAME is registered now (built in, or by a plugin already loaded), without asking plugins."""
        return name in self._items

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name in self._items or name in self.plugin_entries():
            return True
        try:  # a parametrised name is known when it can be built
            return self._resolve_name is not None and self.find(name) is not None
        except Exception:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def problem(self, name: str) -> PluginError | None:
        """The PluginError that using NAME raises, or None (usable, built in, or not a name at all). A
        built-in is not imported to tell: only a plugin can be unusable."""
        if name in self._items:
            return None
        try:
            self.get(name)
        except PluginError as exc:
            return exc
        except UnknownNameError:
            return None
        return None

    # ---------------------------------------------------------------- plugins

    def plugin_entries(self) -> dict[str, PluginEntry]:
        """The entry points of this registry's group, by name (read once; a name two packages claim:
        the first one found)."""
        if not self._load_plugins:
            return {}
        with self._lock:
            if self._entries is None:
                found: dict[str, PluginEntry] = {}
                for ep in entry_points(group=self.group):
                    dist = getattr(ep, "dist", None)
                    package = dist.metadata["Name"] if dist else "?"
                    found.setdefault(
                        ep.name,
                        PluginEntry(ep.name, ep.value, self.group, package, dist.version if dist else "?"),
                    )
                self._entries = found
            return self._entries

    def _load_plugin(self, name: str) -> bool:
        """Imports the plugin NAME and registers what it names; False when no plugin has that name."""
        entry = self.plugin_entries().get(name)
        if entry is None:
            return False
        if name in self._failures:
            raise self._failures[name]
        if self._from_entry is not None:
            self._items[name] = self._from_entry(entry)
            self._plugin_items.add(name)
            return True
        _importing.depth = getattr(_importing, "depth", 0) + 1
        try:
            try:
                obj = EntryPoint(entry.name, entry.value, entry.group).load()
            finally:
                _importing.depth -= 1
            if name not in self._items:  # importing it did not register it: maybe the object is the item
                item = self._accept(obj)
                if item is None:
                    raise _Unregistered(
                        f"it loaded {type(obj).__name__} {entry.value!r}, which registers no {self.kind} "
                        f"named '{name}' ({self.expects})"
                    )
                self._items[name] = item
        except Exception as exc:  # ImportError, SyntaxError, a registration conflict: all end the same way
            reason = str(exc) if isinstance(exc, _Unregistered) else f"{type(exc).__name__}: {exc}"
            error = PluginError(self.kind, name, entry.origin, entry.entry_point, entry.group, reason)
            self._failures[name] = error
            raise error from exc
        self._plugin_items.add(name)
        return True

    def _resolve(self, name: str, lazy: _Lazy) -> T:
        module, _, attr = lazy.target.partition(":")
        obj = getattr(import_module(module), attr)
        current = self._items.get(name)
        if current is not None and not isinstance(current, _Lazy):
            return current  # importing the module registered it (a decorator)
        item = self._accept(obj)
        if item is None:
            raise TypeError(f"built-in {self.kind} '{name}' ({lazy.target}) is not one: {self.expects}")
        self._items[name] = item
        return item

    def origin(self, name: str) -> str:
        """The package NAME comes from: `vlmhyperbench`, or the plugin's `package version`."""
        entry = self.plugin_entries().get(name)
        if entry is not None and (name in self._plugin_items or name not in self._items):
            return entry.origin
        return BUILTIN_PACKAGE

    # ---------------------------------------------------------------- listing

    def listing(self) -> list[Listed]:
        """Every name with its package and whether it can be used; every plugin is loaded to tell."""
        out: list[Listed] = []
        plugins = self.plugin_entries()
        builtin = set(self._items) - self._plugin_items
        for name in sorted(builtin | set(plugins)):
            entry = plugins.get(name)
            if entry is not None and name in builtin:
                out.append(Listed(self.name, name, entry.origin, "shadowed by the built-in"))
                entry = None
            problem = self.problem(name) if entry is not None else None
            origin = entry.origin if entry is not None else BUILTIN_PACKAGE
            if problem is not None:
                out.append(Listed(self.name, name, origin, f"error: {problem.reason}"))
            else:
                out.append(Listed(self.name, name, origin, "ok", self.describe(name)))
        return out

    def describe(self, name: str) -> str:
        try:
            return self._describe(self.get(name))
        except Exception:  # a description is a courtesy
            return ""


def print_registries(registries: list[Registry], console=None) -> int:
    """One table per registry; returns how many plugins cannot be used."""
    from rich.console import Console

    from vlmhb_core.console import print_table

    console = console or Console()
    broken = 0
    for registry in registries:
        rows = registry.listing()
        broken += sum(r.status.startswith("error") for r in rows)
        print_table(
            ["name", "package", "status", "description"],
            [[r.name, r.package, r.status, r.description] for r in rows],
            title=f"{registry.name}  (entry-point group {registry.group})",
            fold=("status", "description"),
            styles=[
                "red" if r.status.startswith("error") else "dim" if r.status != "ok" else None for r in rows
            ],
            console=console,
        )
    return broken
