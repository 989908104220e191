"""End to end for every platform: a team's folder with one account on a fake, driven through the real CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from socialcare.app import App
from tests.conftest import Result, Workspace
from tests.core.conftest import KeywordClassifier


@dataclass
class AccountWorkspace(Workspace):
    """A :class:`Workspace` that fails any command printing one of the account's ``secrets`` (name -> value)."""

    secrets: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, input: str = "") -> Result:
        result = super().run(*args, input=input)
        leaked = [name for name, value in self.secrets.items() if value in result.out + result.err]
        assert not leaked, f"socialcare {' '.join(args)} printed secrets {leaked}"
        return result

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.code == 0, f"socialcare {' '.join(args)} exited {result.code}:\n{result.out}{result.err}"
        return result


AccountFactory = Callable[..., AccountWorkspace]


@pytest.fixture
def account_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AccountFactory:
    """Write a config with one account on a SQLite store, its secrets in the environment as production reads them.

    The core tests' keyword classifier decides the verdicts, so a case does not depend on a model's judgement.
    ``shown`` names the secrets the CLI may print (Reddit's username, which doctor reports).
    """

    def build(
        account: str,
        platform: str,
        settings: Mapping[str, str | int],
        secrets: Mapping[str, str],
        shown: Collection[str] = (),
    ) -> AccountWorkspace:
        prefix = "SOCIALCARE_" + re.sub(r"[^A-Za-z0-9]", "_", account).upper() + "_"
        for name, value in secrets.items():
            monkeypatch.setenv(prefix + name.upper(), value)
        monkeypatch.setattr(App, "classifier", KeywordClassifier())
        hidden = {name: value for name, value in secrets.items() if name not in shown}
        space = AccountWorkspace(tmp_path, f"sqlite:///{tmp_path / 'care.db'}", hidden)
        space.write_config(
            "\n".join(
                [
                    f"database_url = {json.dumps(space.database_url)}",
                    'timezone = "UTC"',
                    "[sentiment]",
                    'backend = "offline"',
                    f"[accounts.{account}]",
                    f"platform = {json.dumps(platform)}",
                    'poll_interval = "1m"',
                    *(f"{key} = {json.dumps(value)}" for key, value in settings.items()),
                ]
            )
            + "\n"
        )
        return space

    return build
