"""How the commands print tables: a rich table on a terminal, plain aligned text in a log or a pipe.

A CI log is a pipe: there, rich would wrap every table at 80 columns and break headers in two
(`datase/t`). So off a terminal a table is plain text, one line per row, never wrapped. On a terminal,
headers and numbers never wrap either; only the columns named FOLD (long names, reasons) fold, and a
table too wide for the screen is printed plainly rather than crushed.

    print_table(["model", "anls"], [["qwen", "0.812"]], title="docs-vqa", fold=("model",))
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> str:
    """The table as aligned text: a title line, the header, a rule, one line per row (cells as given)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(values) for values in cells[1:]]
    return "\n".join(out)


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    fold: Sequence[str] = (),
    styles: Sequence[str | None] | None = None,
    console=None,
) -> None:
    """Prints the table (see the module docstring). Cells are plain text (escaped for rich); STYLES give
    a rich style per row (a terminal only)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    plain = plain_table(headers, rows, title)
    width = max((len(line) for line in plain.splitlines()), default=0)
    if not console.is_terminal or width > console.width and not fold:
        console.print(plain, markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=escape(title) if title else None, title_justify="left")
    for header in headers:
        folding = header in fold
        table.add_column(escape(str(header)), no_wrap=not folding, overflow="fold" if folding else "ellipsis")
    for i, row in enumerate(rows):
        style = styles[i] if styles else None
        table.add_row(*(escape("" if c is None else str(c)) for c in row), style=style)
    console.print(table)


def command_parser(prog: str, description: str, *examples: str):
    """A command's argparse parser under PROG (`vlmhb run` or `python -m flows.benchmark`), its --help
    ending with EXAMPLES, one per line, each after PROG."""
    import argparse

    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=usage_examples(prog, *examples),
    )


def usage_examples(prog: str, *examples: str) -> str:
    """A command's --help epilog: one example per line, each after PROG (`vlmhb run` or `python -m ...`),
    so that the text a user copies is the command they typed."""
    return "examples:\n" + "\n".join(f"  {prog} {example}".rstrip() for example in examples)


FOLDER = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}
"""Set as an argparse action's `complete` attribute: `vlmhb completion` (shtab) then completes folders."""

TERMINAL = {"terminal": True}
"""`extra=` of a log record that the command's quiet terminal shows (the plan, each model's progress, its
problems): `logger.info("...", extra=TERMINAL)`. Every other record of Prefect's goes to the run's log file
and the Prefect UI only, unless the command runs with -v (flows/cli/terminal.py)."""
