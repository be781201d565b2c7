"""The import graph of the project's packages: circles between packages, and arrows that point up a layer.

    python tools/import_graph.py            # from the repository root, with the project's Python

A *package* here is the folder a module sits in (`vlmhyperbench.config`, `environments`, `flows`...). It
prints every circle (a strongly connected set of modules) that spans more than one package, the
package-level arrows with how many imports make each, and the arrows that point up the layer order
below. lint-imports (pyproject.toml) enforces the same rules in CI; this script shows the picture.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

ROOTS = ["flows", "tasks", "vlmhyperbench", "environments", "metrics", "vlmhb_core", "vlmhb_server"]
# Highest first: an import may only point to its own layer or one below it.
LAYERS = [
    ("test support", ["tests.support"]),
    ("commands", ["environments.__main__"]),
    ("flows", ["flows"]),
    ("tasks", ["tasks"]),
    ("domain", ["vlmhyperbench."]),
    ("environments and metrics", ["environments", "metrics"]),
    ("base", ["vlmhb_core"]),
]
ISOLATED = ["vlmhb_server", "environments.servers"]  # runs inside model environments (new, old place)


def package_of(module: str, packages: set[str]) -> str:
    if module.endswith(".__main__"):  # a command: `python -m PACKAGE`, the top of the house
        return module
    return module if module in packages else module.rpartition(".")[0] or module


def layer_of(module: str) -> int | None:
    best, rank = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            hit = module == p or module.startswith(p if p.endswith(".") else p + ".")
            if hit and len(p) > rank:
                best, rank = i, len(p)
    return best


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main() -> int:
    sys.path.insert(0, str(Path.cwd()))
    roots = [r for r in ROOTS if Path(r).is_dir()]
    graph = grimp.build_graph(*roots, cache_dir=None)
    modules = sorted(graph.modules)
    packages = {m for m in modules if graph.find_children(m) or m in roots}
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in modules}

    circles = [c for c in strongly_connected(modules, edges) if len({package_of(m, packages) for m in c}) > 1]
    print(f"circles that span packages: {len(circles)}")
    for c in circles:
        spans = sorted({package_of(m, packages) for m in c})
        print(f"  {len(c)} modules over {len(spans)} packages ({', '.join(spans)}):")
        print("    " + ", ".join(c))

    arrows: dict[tuple[str, str], int] = defaultdict(int)
    upward: list[tuple[str, str]] = []
    isolation: list[tuple[str, str]] = []
    for a, targets in edges.items():
        for b in targets:
            pa, pb = package_of(a, packages), package_of(b, packages)
            if pa != pb:
                arrows[(pa, pb)] += 1
            la, lb = layer_of(a), layer_of(b)
            if la is not None and lb is not None and lb < la:
                upward.append((a, b))
            a_iso = any(a == p or a.startswith(p + ".") for p in ISOLATED)
            b_iso = any(b == p or b.startswith(p + ".") for p in ISOLATED)
            if a_iso != b_iso:
                isolation.append((a, b))
    print(f"\npackage arrows: {len(arrows)}")
    for (pa, pb), n in sorted(arrows.items()):
        back = " (and back)" if (pb, pa) in arrows else ""
        print(f"  {pa} -> {pb}: {n}{back}")
    names = [name for name, _ in LAYERS]
    print(f"\narrows up the layers ({' > '.join(names)}): {len(upward)}")
    for a, b in sorted(upward):
        print(f"  {a} ({names[layer_of(a)]}) -> {b} ({names[layer_of(b)]})")
    print(f"\narrows across the model-server boundary: {len(isolation)}")
    for a, b in sorted(isolation):
        print(f"  {a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
