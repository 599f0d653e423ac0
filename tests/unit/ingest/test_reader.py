"""CSV reading: encodings, physical line numbers, shapes and size limits."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from accord.errors import InputError
from accord.ingest.options import ImportOptions
from accord.ingest.reader import CsvFile, RowErrors, detect_encoding

OPTS = ImportOptions(progress=False)


def _write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_detect_encoding_reads_boms(tmp_path: Path) -> None:
    assert detect_encoding(_write(tmp_path, codecs.BOM_UTF8 + b"a,b\n")) == "utf-8-sig"
    assert detect_encoding(_write(tmp_path, "a,b\n".encode("utf-16"))) == "utf-16"
    assert detect_encoding(_write(tmp_path, b"a,b\n")) == "utf-8"
    assert detect_encoding(_write(tmp_path, b"a,b\n"), "latin-1") == "iso8859-1"


def test_detect_encoding_rejects_utf16_without_bom(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--encoding utf-16-le"):
        detect_encoding(_write(tmp_path, "a,b\n".encode("utf-16-le")))


def test_detect_encoding_rejects_unknown_codec(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown encoding"):
        detect_encoding(_write(tmp_path, b"a,b\n"), "klingon")


def test_rows_report_the_line_each_row_starts_on(tmp_path: Path) -> None:
    data = b'Name,Note\nA,"two\nlines"\n\nB,plain\n'
    source = CsvFile(_write(tmp_path, data), OPTS)
    assert list(source.rows(RowErrors(OPTS))) == [(2, ["A", "two\nlines"]), (5, ["B", "plain"])]


def test_header_lookup_is_case_insensitive(tmp_path: Path) -> None:
    source = CsvFile(_write(tmp_path, codecs.BOM_UTF8 + b"Name, EMAIL \nA,a@x\n"), OPTS)
    assert source.column("email") == 1
    with pytest.raises(InputError, match="missing required column 'Phone'"):
        source.require("Phone")


def test_rows_reject_wrong_field_count(tmp_path: Path) -> None:
    source = CsvFile(_write(tmp_path, b"a,b\n1,2\n3\n", "short.csv"), OPTS)
    with pytest.raises(InputError, match=r"short.csv line 3: has 1 fields, the header has 2"):
        list(source.rows(RowErrors(OPTS)))


def test_rows_skip_bad_rows_and_record_them(tmp_path: Path) -> None:
    options = ImportOptions(skip_bad_rows=True, rejects_path=tmp_path / "r.csv", progress=False)
    source = CsvFile(_write(tmp_path, b"a,b\n1,2\n3\n4,5\n"), options)
    errors = RowErrors(options)
    assert [line for line, _ in source.rows(errors)] == [2, 4]
    assert errors.skipped == 1
    assert errors.write() == tmp_path / "r.csv"
    assert (tmp_path / "r.csv").read_text().splitlines()[1].startswith("3,3,")


def test_rows_reject_undecodable_bytes_by_line(tmp_path: Path) -> None:
    source = CsvFile(_write(tmp_path, b"a,b\n1,2\n3,\xff\n"), OPTS)
    with pytest.raises(InputError, match=r"line 3: byte 0xff is not valid utf-8"):
        list(source.rows(RowErrors(OPTS)))


def test_rows_reject_field_over_one_mib(tmp_path: Path) -> None:
    data = b"a,b\n1," + b"x" * (1024 * 1024 + 1) + b"\n"
    source = CsvFile(_write(tmp_path, data), OPTS)
    with pytest.raises(InputError, match=r"line 2, column 'b': field of 1,048,577 characters"):
        list(source.rows(RowErrors(OPTS)))


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        CsvFile(_write(tmp_path, b""), OPTS)
