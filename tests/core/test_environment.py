"""The environment's mistakes (a read-only or locked store, a file that is not a database, a folder for a
file) end in one line on stderr and exit 1, never a traceback; `init --print` is the file as it is."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import SANDBOX_CONFIG, Workspace


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0]


def cli(config: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    env.pop("SOCIALCARE_DATABASE_URL", None)
    command = [sys.executable, "-m", "socialcare", "--config", str(config), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)


def sqlite_space(tmp_path: Path, url: str, top: str = "", tables: str = "") -> Path:
    config = tmp_path / "config" / "socialcare.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(top + SANDBOX_CONFIG.format(database_url=url) + tables, encoding="utf-8")
    return config


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A migrated SQLite store; returns its config."""
    config = sqlite_space(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    assert cli(config, "db", "upgrade").returncode == 0
    return config


def test_a_read_only_database(tmp_path: Path, store: Path) -> None:
    config = sqlite_space(tmp_path, f"sqlite:///file:{tmp_path / 'store.db'}?mode=ro&uri=true")
    one_line_error(cli(config, "queue"), "read-only")
    doctor = cli(config, "doctor")
    assert doctor.returncode == 1 and "ok   database" not in doctor.stdout
    assert "FAIL database" in doctor.stdout and "read-only" in doctor.stdout
    assert "Traceback" not in doctor.stderr


def test_a_database_locked_by_another_writer(tmp_path: Path, store: Path) -> None:
    config = sqlite_space(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", top='lock_timeout = "1s"\n')
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        one_line_error(cli(config, "queue"), "locked", "try again")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cli(config, "queue").returncode == 0


def test_a_database_url_at_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n" * 200)
    config = sqlite_space(tmp_path, f"sqlite:///{notes}")
    one_line_error(cli(config, "queue"), "not a socialcare database")
    one_line_error(cli(config, "db", "upgrade"), "not a socialcare database")
    assert notes.read_text().startswith("shopping list")


def test_a_command_before_the_schema_leaves_no_empty_database(tmp_path: Path) -> None:
    config = sqlite_space(tmp_path, f"sqlite:///{tmp_path / 'never.db'}")
    one_line_error(cli(config, "queue"), "socialcare init")
    one_line_error(cli(config, "approve", "1"), "socialcare init")
    assert not list(tmp_path.glob("never.db*"))


def test_sentiment_train_out_a_folder(tmp_path: Path, workspace: Workspace) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for label, texts in (("0", ["awful, broken"]), ("1", ["what time?"]), ("2", ["love it, thanks"])):
        (data / f"train{label}_text.txt").write_text("\n".join(texts * 3))
        (data / f"train{label}_labels.txt").write_text("\n".join([label] * 3))
    one_line_error(cli(workspace.config, "sentiment", "train", "--data", str(data), "--out", str(tmp_path)), "folder")


@pytest.mark.parametrize("columns", [80, 200])
def test_init_print_is_the_file_as_it_is(tmp_path: Path, columns: int) -> None:
    printed = cli(tmp_path / "none.toml", "init", "--print", columns=columns)
    assert printed.returncode == 0, printed.stderr
    parsed = tomllib.loads(printed.stdout)
    assert parsed["timezone"] == "Europe/Rome" and "sandbox" in parsed["accounts"]
    starter = Path(__file__).parents[2] / "config" / "socialcare.example.toml"
    assert printed.stdout == starter.read_text(encoding="utf-8")


def test_help_text_is_not_taken_as_markup(tmp_path: Path) -> None:
    assert "[env: SOCIALCARE_CONFIG" in cli(tmp_path / "none.toml", "--help", columns=200).stdout
    assert "[sentiment]" in cli(tmp_path / "none.toml", "sentiment", "train", "--help", columns=200).stdout


def test_a_sentiment_option_typo_stops_queue_too(tmp_path: Path) -> None:
    config = sqlite_space(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", tables='[sentiment]\nmodle = "x.npz"\n')
    one_line_error(cli(config, "queue"), "'modle'", "[sentiment]")


def test_the_sentiment_options_known_up_front_are_the_backends() -> None:
    import inspect

    import sentiment
    from sentiment.hf import TransformersClassifier
    from sentiment.offline import OfflineClassifier

    for name, backend in (("offline", OfflineClassifier), ("transformers", TransformersClassifier)):
        assert sentiment.OPTIONS[name] == tuple(inspect.signature(backend).parameters)
