"""Secrets: a secrets file others can read is refused with the fix, and every known secret value is masked in
whatever text is kept or shown, whatever its origin — here an error that quotes the token verbatim."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import select

from connectors.base import TransientError
from socialcare import config as configuration
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.models import Account
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

TOKEN = "canary-bearer-0f9e8d7c6b5a"
CONFIG = """\
database_url = "{database_url}"
secrets_file = "secrets.toml"

[accounts.brand_x]
platform = "x"
auth = "oauth2"
api_url = "http://127.0.0.1:9"
"""


@pytest.fixture
def space(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    workspace = Workspace(tmp_path, database_url)
    workspace.write_config(CONFIG.format(database_url=database_url))
    secrets = workspace.config.parent / "secrets.toml"
    secrets.write_text(f'[brand_x]\nbearer_token = "{TOKEN}"\n', encoding="utf-8")
    secrets.chmod(0o600)
    assert workspace.run("db", "upgrade").code == 0
    return workspace


def test_a_secrets_file_others_can_read_is_refused_with_the_chmod_that_fixes_it(space: Workspace) -> None:
    secrets = space.config.parent / "secrets.toml"
    secrets.chmod(0o644)
    refused = space.run("doctor")
    assert refused.code == 1 and "Traceback" not in refused.err
    assert refused.err == f"error: secrets_file: {secrets} can be read by other users; run `chmod 600 {secrets}`\n"
    secrets.chmod(0o600)
    assert "can be read by other users" not in space.run("doctor").err


def test_a_token_quoted_in_an_error_is_masked_in_the_store_the_logs_and_doctor(
    space: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(configuration.load(space.config))
    app.sync_accounts()
    connector = app.channels["brand_x"]

    def gateway_echo(cursor):  # type: ignore[no-untyped-def]
        raise TransientError(f"502 from the gateway: {{'authorization': 'Bearer {TOKEN}'}}")

    monkeypatch.setattr(connector, "poll", gateway_echo)
    with caplog.at_level(logging.DEBUG):
        outcome = app.poll("brand_x")
    assert outcome.error is not None and TOKEN not in outcome.error and "Bearer ***" in outcome.error
    with session_scope(app.engine) as session:
        stored = session.exec(select(Account).where(Account.name == "brand_x")).one().last_error
    assert stored is not None and TOKEN not in stored and "Bearer ***" in stored
    assert TOKEN not in caplog.text and "Bearer ***" in caplog.text
    doctor = space.run("doctor")
    assert TOKEN not in doctor.out + doctor.err
