"""Reading the project's CSV files: `;` or `,` separated, UTF-8 with or without BOM, empty cell = default.

Every row comes back with its physical line number so that errors can say `FILE:LINE: column 'NAME'`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from vlmhb_core.errors import ConfigError

MAX_CELL_CHARS = 100_000
"""A config cell longer than this is a mistake (a pasted file, a missing quote), whatever the csv module's
own limit is in this process (a dataset reader raises it for long transcriptions)."""


@dataclass(frozen=True)
class CsvRow:
    """One data row: its cells by column name (stripped; empty cells omitted) and where it stands."""

    file: Path
    line: int
    cells: dict[str, str]

    def error(self, column: str | None, message: str, allowed: list[str] | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line, column=column, allowed=allowed)

    def unknown(self, column: str, what: str, name: str, allowed: list[str]) -> ConfigError:
        """`unknown WHAT 'NAME'; did you mean 'X'? (allowed: ...)`: the close matches first (a typo is
        the usual cause), then every allowed name."""
        return self.error(column, f"unknown {what} {name!r}{did_you_mean(name, allowed)}", allowed)


def did_you_mean(name: str, allowed: list[str]) -> str:
    """`; did you mean 'X'?` (or 'X' or 'Y') for the names of ALLOWED close to NAME; "" when none is."""
    import difflib

    close = difflib.get_close_matches(name, [a for a in allowed if a != "*"], n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def sniff_delimiter(header: str) -> str:
    """`;` is the project's separator; a header with commas and no semicolons is read as `,`."""
    return "," if ";" not in header and "," in header else ";"


def read_csv_rows(
    path: Path, *, required: list[str], known: list[str] | None = None, display: str | None = None
) -> list[CsvRow]:
    """Reads PATH into rows, checking the header against the required (and, if given, known) columns."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", file=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=shown) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", file=shown, line=line
        ) from None
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise ConfigError("file is empty: a header line is required", file=shown, line=1, allowed=required)
    delimiter = sniff_delimiter(lines[header_index])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[CsvRow] = []
    start_line = 1
    try:
        for record in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                _check_header(header, required, known, shown, line)
                continue
            if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
                raise ConfigError(
                    f"row has {len(record)} cells but the header has {len(header)} columns "
                    f"(is the separator '{delimiter}' used inside a cell without quotes?)",
                    file=shown,
                    line=line,
                )
            cells = {name: value.strip() for name, value in zip(header, record) if name and value.strip()}
            for name, value in cells.items():
                if len(value) > MAX_CELL_CHARS:
                    raise ConfigError(
                        f"a cell of {len(value):,} characters is over the limit of {MAX_CELL_CHARS:,}",
                        file=shown,
                        line=line,
                        column=name,
                    )
            rows.append(CsvRow(file=Path(shown), line=line, cells=cells))
    except csv.Error as exc:  # a cell over the csv module's size limit, say: still FILE:LINE
        raise ConfigError(f"cannot read this row as CSV: {exc}", file=shown, line=start_line) from None
    return rows


def _check_header(
    header: list[str], required: list[str], known: list[str] | None, file: str, line: int
) -> None:
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            raise ConfigError("duplicate column in the header", file=file, line=line, column=name)
        seen.add(name)
        if known is not None and name not in known:
            raise ConfigError("unknown column", file=file, line=line, column=name, allowed=known)
    for name in required:
        if name not in seen:
            raise ConfigError(
                "required column is missing from the header", file=file, line=line, column=name, allowed=known
            )
