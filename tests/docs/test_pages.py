"""The documentation's promises that need no build: README is the front page (short, every link resolves,
nothing cited outside the repository, `vlmhb` throughout), every dataset format and standard benchmark has
its section, and the generated reference pages describe every column and setting."""

from __future__ import annotations

import re

import pytest

from tests.support.support import REPO

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_readme_is_the_front_page():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert (
        "CONTRACT.md" not in text and "python -m flows" not in text and "python -m environments" not in text
    )
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = target.split("#", 1)[0]
        assert (REPO / path).exists(), f"README links to {target}, which is not in the repository"


def test_nothing_in_the_repository_cites_the_contract_users_do_not_have():
    cited = [
        str(p.relative_to(REPO))
        for pattern in ("*.py", "*.md")
        for p in REPO.rglob(pattern)
        if ".venv" not in p.parts and "site" not in p.parts and p.name != "test_pages.py"
        and "CONTRACT.md" in p.read_text(encoding="utf-8", errors="replace")
    ]  # fmt: skip
    assert cited == []


def test_every_format_and_benchmark_has_its_section():
    from vlmhyperbench.benchmarks import BENCHMARKS
    from vlmhyperbench.datasets import FORMATS

    page = (REPO / "docs" / "reference" / "dataset-formats.md").read_text(encoding="utf-8")
    for name in FORMATS.builtin_names():
        assert f"\n## {name}\n" in page, f"dataset format {name!r} has no section"
    for name in BENCHMARKS.builtin_names():
        assert f"| `{name}` |" in page, f"benchmark {name!r} is not in the layouts table"


@pytest.mark.parametrize("page", ["commands", "registries", "configuration", "environment_variables"])
def test_the_generated_reference_pages_cover_the_code(page):
    from tools import docs_reference

    maker = {
        "commands": docs_reference.commands_page,
        "registries": docs_reference.registries_page,
        "configuration": docs_reference.configuration_page,
        "environment_variables": docs_reference.environment_page,
    }[page]
    text = maker()  # UndocumentedError for a column or setting without a description
    if page == "commands":
        assert (
            "## `vlmhb bundle`" in text and "### `vlmhb bundle sample`" in text and "vlmhb tiny-model" in text
        )
    if page == "environment_variables":
        assert "`VLMHB_LOG_LEVEL`" in text and "~/.cache/vlmhyperbench" in text
    assert docs_reference.results_tables().count("| `") > 40
