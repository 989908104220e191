"""The team's configuration: one TOML file, validated up front, every error naming its key.

Relative paths in the file are relative to the file's own folder, so a config folder can be
moved or shared as a whole. Secrets never live here: they come from the environment or from the
secrets file the config names.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_PATH = Path("config/socialcare.toml")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$")


class ConfigError(Exception):
    """The config cannot be used; the message says which key and why."""


def parse_duration(value: Any) -> timedelta:
    """Accept seconds as a number or text like ``"90s"``, ``"30m"``, ``"1h30m"``, ``"2d"``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like '30m' or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration; use e.g. '90s', '30m', '1h30m' or '2d'")
        d, h, m, s = (int(g or 0) for g in match.groups())
        seconds = float(((d * 24 + h) * 60 + m) * 60 + s)
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_time_of_day(value: Any) -> time:
    """Accept ``"HH:MM"`` (TOML's own local time works too)."""
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day; write 'HH:MM' like '08:00'")
    return time(int(match[1]), int(match[2]))


def _address(value: str) -> str:
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


TimeOfDay = Annotated[time, BeforeValidator(parse_time_of_day)]
Address = Annotated[str, AfterValidator(_address)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_Section):
    """Response targets per priority; a case is due this long after its oldest unanswered message."""

    normal: Duration = timedelta(hours=1)
    complaint: Duration = timedelta(minutes=30)
    urgent: Duration = timedelta(minutes=15)


class SentimentConfig(BaseModel):
    """``backend`` picks the classifier; every other key is that backend's own option."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str = "offline"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DaemonConfig(_Section):
    """What is due runs within a second or two; these only bound the work of a worker that dies."""

    lease: Duration = timedelta(seconds=60)
    watch_interval: Duration = timedelta(minutes=1)

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "send_interval" in data:
            raise ValueError(
                "send_interval is no longer used: approved replies go out within a second or two; remove the key"
            )
        return data


class SmtpConfig(_Section):
    """The mail server that reports and alerts go through; the password comes from the env or secrets file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    sender: Address | None = Field(None, alias="from")
    to: list[Address] = []
    timeout: Duration = timedelta(seconds=30)

    @property
    def ready(self) -> bool:
        return bool(self.host and self.sender and self.to)

    @property
    def port_in_use(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


class SpikeConfig(_Section):
    """An alert when the last hour's negative share is ``margin`` above the same hour's 28-day share."""

    enabled: bool = False
    margin: float = Field(0.2, gt=0, lt=1)
    min_messages: int = Field(20, ge=1)
    interval: Duration = timedelta(minutes=5)


class ReportConfig(_Section):
    """The daily report: emailed by the daemon at ``send_at`` (team's time) when ``daily`` is on."""

    daily: bool = False
    send_at: TimeOfDay = time(8, 0)
    themes: int = Field(5, ge=0, le=20)
    spike: SpikeConfig = SpikeConfig()


class AccountConfig(BaseModel):
    """One connected channel. Keys other than the core's go to the connector's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str
    platform: str
    poll_interval: Duration = timedelta(minutes=1)
    enabled: bool = True
    targets: Targets | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Config(_Section):
    path: Path
    database_url: str
    timezone: str = "UTC"
    language: str = Field("en", description="language of drafts when the customer's cannot be told")
    templates: Path | None = None
    secrets_file: Path | None = None
    targets: Targets = Targets()
    sentiment: SentimentConfig = SentimentConfig()
    daemon: DaemonConfig = DaemonConfig()
    smtp: SmtpConfig = SmtpConfig()
    report: ReportConfig = ReportConfig()
    accounts: dict[str, AccountConfig] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name like 'Europe/Rome'") from None
        return value

    @model_validator(mode="after")
    def _mail_for_what_sends_mail(self) -> Config:
        for key, wanted in (("report.daily", self.report.daily), ("report.spike.enabled", self.report.spike.enabled)):
            if wanted and not self.smtp.ready:
                raise ValueError(f"{key} = true needs [smtp] with host, from and to")
        return self

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def account(self, name: str) -> AccountConfig:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(self.accounts) or "none configured"
            raise ConfigError(f"no account named {name!r} (accounts: {known})") from None

    def targets_for(self, account: str) -> Targets:
        own = self.accounts[account].targets if account in self.accounts else None
        return own or self.targets

    def secrets_for(self, account: str, names: tuple[str, ...]) -> dict[str, SecretStr]:
        """Each named secret from ``SOCIALCARE_<ACCOUNT>_<NAME>``, else from the secrets file."""
        filed = self._secrets_file().get(account, {})
        found: dict[str, SecretStr] = {}
        for name in names:
            value = os.environ.get(secret_env_name(account, name)) or filed.get(name)
            if value:
                found[name] = SecretStr(str(value))
        return found

    def _secrets_file(self) -> Mapping[str, Mapping[str, Any]]:
        if self.secrets_file is None:
            return {}
        try:
            return tomllib.loads(self.secrets_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"secrets_file: {self.secrets_file} does not exist") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"secrets_file: {self.secrets_file} is not valid TOML ({err})") from None


def secret_env_name(account: str, name: str) -> str:
    return "SOCIALCARE_" + re.sub(r"[^A-Za-z0-9]", "_", f"{account}_{name}").upper()


def resolve_path(path: Path | None) -> Path:
    """The config path in use: the argument, else ``SOCIALCARE_CONFIG``, else the default."""
    if path is not None:
        return path
    return Path(os.environ.get("SOCIALCARE_CONFIG") or DEFAULT_PATH)


def load(path: Path | None = None) -> Config:
    path = resolve_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no config at {path}; create one with `socialcare init` or pass --config PATH") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Config:
    folder = path.resolve().parent
    data = dict(data)
    url = os.environ.get("SOCIALCARE_DATABASE_URL") or data.get("database_url") or "sqlite:///socialcare.db"
    data["database_url"] = _absolute_sqlite(str(url), folder)
    for key in ("templates", "secrets_file"):
        if isinstance(data.get(key), str):
            data[key] = folder / data[key]
    accounts = data.get("accounts", {})
    if not isinstance(accounts, Mapping):
        raise ConfigError(f"{path}: accounts: must be a table of [accounts.NAME] sections")
    data["accounts"] = {
        name: {**section, "name": name} if isinstance(section, Mapping) else section
        for name, section in accounts.items()
    }
    try:
        return Config(path=path.resolve(), **data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "name") or "config"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; `socialcare init --print` shows every key)"
        raise ConfigError(f"{path}: {where}: {message}") from None


def _absolute_sqlite(url: str, folder: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(folder / url[len(prefix) :])
    return url
