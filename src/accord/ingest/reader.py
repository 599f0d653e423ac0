"""CSV reading: encoding detection, physical line numbers, size limits, header lookup.

Every problem names the file, the line (1 = header) and, where there is one, the column.
Rows are plain lists of strings; callers convert them and report bad values through
`RowErrors`, which either stops the import or skips and records the row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from accord.errors import InputError
from accord.ingest.options import ImportOptions

MAX_FIELD = 1024 * 1024  # characters in one cell
PROGRESS_MIN_BYTES = 4 * 1024 * 1024
_ESCAPED = re.compile("[\udc80-\udcff]")

csv.field_size_limit(64 * 1024 * 1024)


def detect_encoding(path: Path, explicit: str | None = None) -> str:
    """The codec for `path`: BOM-marked UTF-8/UTF-16, else UTF-8; `explicit` wins."""
    with path.open("rb") as f:
        head = f.read(4096)
    if explicit:
        try:
            name = codecs.lookup(explicit).name
        except LookupError:
            raise InputError(
                f"--encoding {explicit!r}: unknown encoding; use e.g. utf-8, utf-16, cp1252"
            ) from None
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise InputError(
            f"{path.name}: contains NUL bytes (UTF-16 without a byte-order mark, or not a text "
            "file); pass --encoding utf-16-le (or utf-16-be)"
        )
    return "utf-8"


def display_name(path: Path) -> str:
    """How messages name a file: as given, which is what the user typed."""
    return str(path)


@dataclass
class Reject:
    file: str
    line: int
    error: str
    header: list[str]
    fields: list[str]


@dataclass
class RowErrors:
    """Stops the import on the first bad row, or (skip_bad_rows) records it and goes on."""

    options: ImportOptions
    rejects: list[Reject] = field(default_factory=list)

    def bad_row(
        self, source: CsvFile, line: int, column: str | None, message: str, fields: list[str]
    ) -> None:
        where = f"{source.name} line {line}" + (f", column {column!r}" if column else "")
        self.bad(where, message, file=source.name, line=line, header=source.header, fields=fields)

    def bad(
        self,
        where: str,
        message: str,
        *,
        file: str,
        line: int,
        header: list[str],
        fields: list[str],
    ) -> None:
        """Stop with `where: message`, or record the row when skipping bad rows."""
        if not self.options.skip_bad_rows:
            raise InputError(f"{where}: {message}; fix the row or pass --skip-bad-rows")
        self.rejects.append(Reject(file, line, f"{where}: {message}", header, fields))

    @property
    def skipped(self) -> int:
        return len(self.rejects)

    def write(self) -> Path | None:
        """Write the rejects CSV (original columns + `_line`, `_error`); None when not asked."""
        path = self.options.rejects_path
        if path is None or not self.options.skip_bad_rows:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        headers = {tuple(r.header) for r in self.rejects}
        with path.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            if len(headers) <= 1:
                out.writerow([*(self.rejects[0].header if self.rejects else []), "_line", "_error"])
                out.writerows([*r.fields, r.line, r.error] for r in self.rejects)
            else:
                out.writerow(["_file", "_line", "_error", "_row"])
                out.writerows([r.file, r.line, r.error, _csv_line(r.fields)] for r in self.rejects)
        return path


class CsvFile:
    """One CSV file: its header, and its data rows as (line number, fields)."""

    def __init__(
        self,
        path: Path,
        options: ImportOptions,
        *,
        allow_short_rows: bool = False,
        name: str | None = None,
    ) -> None:
        self.path = path
        self.name = name or display_name(path)
        self.options = options
        self.allow_short_rows = allow_short_rows
        self.encoding = detect_encoding(path, options.encoding)
        self.header = self._read_header()
        self._index = {h.strip().lower(): i for i, h in reversed(list(enumerate(self.header)))}

    def _lines(self) -> Iterator[str]:
        """Decoded physical lines; undecodable bytes stop the import naming the line."""
        with self.path.open(encoding=self.encoding, errors="surrogateescape", newline="") as f:
            for number, line in enumerate(f, start=1):
                if not line.isascii() and (bad := _ESCAPED.search(line)):
                    byte = ord(bad.group()) - 0xDC00
                    raise InputError(
                        f"{self.name} line {number}: byte 0x{byte:02x} is not valid "
                        f"{self.encoding}; pass --encoding with the file's encoding "
                        "(e.g. --encoding cp1252)"
                    )
                yield line

    def _read_header(self) -> list[str]:
        try:
            header = next(csv.reader(self._lines()), None)
        except csv.Error as e:
            raise InputError(f"{self.name} line 1: cannot read the header: {e}") from e
        if not header or not any(h.strip() for h in header):
            raise InputError(f"{self.name}: the file is empty or its first line is blank")
        return [h.strip() for h in header]

    def column(self, *names: str) -> int | None:
        """The index of the first of `names` present in the header (case-insensitive)."""
        for name in names:
            index = self._index.get(name.lower())
            if index is not None:
                return index
        return None

    def require(self, name: str) -> int:
        """The index of a column that must be present; a clear error otherwise."""
        index = self.column(name)
        if index is None:
            raise InputError(
                f"{self.name}: missing required column {name!r}; the header has "
                f"{', '.join(repr(h) for h in self.header)}"
            )
        return index

    def rows(self, errors: RowErrors) -> Iterator[tuple[int, list[str]]]:
        """Data rows with the line each starts on; malformed rows go to `errors`."""
        width = len(self.header)
        lines = self._progress_lines()
        reader = csv.reader(lines)
        next(reader, None)
        last = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise InputError(f"{self.name} line {last + 1}: malformed CSV: {e}") from e
            line, last = last + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if problem := self._shape_problem(fields, width):
                column, message = problem
                errors.bad_row(self, line, column, message, fields)
                continue
            if len(fields) < width:
                fields = fields + [""] * (width - len(fields))
            yield line, fields

    def _shape_problem(self, fields: list[str], width: int) -> tuple[str | None, str] | None:
        if len(fields) != width and not (self.allow_short_rows and len(fields) < width):
            return None, f"has {len(fields)} fields, the header has {width}"
        if sum(map(len, fields)) > MAX_FIELD:
            for i, value in enumerate(fields):
                if len(value) > MAX_FIELD:
                    column = self.header[i] if i < len(self.header) else f"#{i + 1}"
                    return column, f"field of {len(value):,} characters is over the 1 MiB limit"
        return None

    def _progress_lines(self) -> Iterator[str]:
        size = self.path.stat().st_size
        if not self.options.progress or size < PROGRESS_MIN_BYTES:
            yield from self._lines()
            return
        scale = 2 if self.encoding.startswith("utf-16") else 1
        columns = (TextColumn(f"reading {self.path.name}"), BarColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True, console=_stderr()) as bar:
            task = bar.add_task("read", total=size)
            done = 0
            for number, line in enumerate(self._lines()):
                done += len(line) * scale
                if number % 20000 == 0:
                    bar.update(task, completed=done)
                yield line


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue().rstrip("\r\n")


def _stderr() -> Console:
    return Console(stderr=True)
