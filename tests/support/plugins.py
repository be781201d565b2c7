"""Plugin packages for the tests, laid out as pip lays out an installed distribution."""

from __future__ import annotations

from pathlib import Path


def install_dist(
    site: Path, dist: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]
) -> None:
    """Installs DIST 0.1 into SITE: NAME.dist-info with METADATA and entry_points.txt, beside its
    MODULES ({module name: source}), so that importlib.metadata finds it on sys.path."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
            for group, eps in entry_points.items()
        ),
        encoding="utf-8",
    )
    for name, text in modules.items():
        (site / f"{name}.py").write_text(text, encoding="utf-8")
