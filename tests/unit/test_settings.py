from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accord.errors import ConfigError
from accord.settings import load_settings


def test_settings_default_sqlite_in_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
    s = load_settings(tmp_path / "ws")
    assert s.database_url == f"sqlite:///{tmp_path / 'ws' / 'accord.db'}"
    assert s.definitions_dir == tmp_path / "ws" / "definitions"


def test_settings_workspace_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_WORKSPACE", str(tmp_path / "envws"))
    monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
    assert load_settings().workspace == tmp_path / "envws"


def test_settings_rejects_postgres_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_DATABASE_URL", "postgres://u@h/db")
    with pytest.raises(ConfigError, match=r"postgresql\+psycopg://"):
        load_settings("x")


def test_cli_rejects_bad_database_url_with_exit_2(tmp_path: Path) -> None:
    env = {"ACCORD_DATABASE_URL": "mysql://u@h/db", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(tmp_path), "db", "current"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "ACCORD_DATABASE_URL: scheme 'mysql://' is not supported" in proc.stderr
    assert proc.stdout == ""


def test_cli_db_upgrade_creates_workspace_database(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(tmp_path / "w"), "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w" / "accord.db").exists()
