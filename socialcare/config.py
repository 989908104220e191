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
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    model_validator,
)

from socialcare.calendars import BusinessCalendar, CalendarSettings, ResponseTargets, TimeZoneName, merge_calendars
from socialcare.durations import Duration, parse_duration
from socialcare.redaction import remember

DEFAULT_PATH = Path("config/socialcare.toml")

__all__ = ["Config", "ConfigError", "Duration", "load", "parse_duration", "resolve_path", "secret_env_name"]


class ConfigError(Exception):
    """The config cannot be used; the message says which key and why."""


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


class SentimentConfig(BaseModel):
    """``backend`` picks the classifier; every other key is that backend's own option."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str = "offline"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _known_options(self) -> SentimentConfig:
        import sentiment

        try:
            sentiment.check_options(self.backend, self.options)
        except sentiment.BackendUnavailable as err:
            raise ValueError(str(err)) from None
        return self


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


class HoldingPolicy(_Section):
    """When nobody has approved an answer in time, tell the customer when they will hear back.

    At ``at`` of a case's target (in open time) a holding reply goes out on the same channel, in the
    customer's language, once per case, with a real time from the calendar, which becomes the new
    deadline. With ``after_hours``, a customer who writes while the team is closed is told at once
    when the answer will come.
    """

    enabled: bool = True
    at: float = Field(0.8, gt=0, lt=1)
    after_hours: bool = False


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


class EscalationConfig(_Section):
    """Who hears of a missed deadline: an email to ``to`` (default: ``[smtp] to``) and a POST to ``webhook``.

    One message per minute's breaches, once per case.
    """

    enabled: bool = True
    to: list[Address] = []
    webhook: HttpUrl | None = None


DEFAULT_BLOCKLIST = (
    "stupid",
    "idiot",
    "calm down",
    "whining",
    "obviously",
    "your fault",
    "not our problem",
    "shut up",
    "read the manual",
    "stupido",
    "colpa tua",
    "estúpido",
    "culpa tuya",
    "stupide",
    "votre faute",
    "dumm",
    "deine schuld",
    "culpa sua",
)
"""Starter words never sent to a customer; ``[tone] blocklist`` replaces the list."""


class ToneConfig(_Section):
    """``[tone]``: whether replies are checked, the words never sent, and how negative is too negative."""

    enabled: bool = True
    blocklist: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKLIST))
    max_negative: float = Field(0.8, gt=0, le=1)
    """A reply (apologies left out) whose negative score is above this is refused. The default backend
    still scores the bundled replies up to 0.70 (a refund or a delay named reads negative to it) and
    rude ones from 0.95: 0.8 is between."""


class FaqConfig(_Section):
    """``[faq]``: the team's saved answers, one ``<language>.toml`` per language in ``folder``."""

    folder: Path = Path("faq")
    min_score: float = Field(0.35, gt=0, le=1)
    """A saved answer is suggested from this match score on (0-1)."""
    use_from: float = Field(0.6, gt=0, le=1)
    """The draft gives the best saved answer itself from this score on."""


class SatisfactionPolicy(_Section):
    """After a case is answered, ask the customer on the same channel whether it helped ("was this helpful?").

    The follow-up goes ``delay`` after the answer, never twice to one customer (all their linked
    identities) within ``period``, and only on private channels (Messenger) unless ``public``: on a
    public thread it reads as noise to everyone else. A short reply within ``answer_within`` (yes,
    no, a score from 1 to 5, or stop) is recorded and opens no case; "stop" ends follow-ups for that
    customer for good.
    """

    enabled: bool = False
    delay: Duration = timedelta(hours=1)
    period: Duration = timedelta(days=30)
    public: bool = False
    answer_within: Duration = timedelta(days=7)


class AccountConfig(BaseModel):
    """One connected channel. Keys other than the core's go to the connector's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str
    platform: str
    poll_interval: Duration = timedelta(minutes=1)
    enabled: bool = True
    targets: ResponseTargets | None = None
    calendar: CalendarSettings | None = None
    holding: HoldingPolicy | None = None
    satisfaction: SatisfactionPolicy | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Config(_Section):
    path: Path
    database_url: str
    timezone: TimeZoneName = "UTC"
    language: str = Field("en", description="language of drafts when the customer's cannot be told")
    lock_timeout: Duration = timedelta(seconds=30)
    """How long a SQLite writer waits for another's write lock before a command gives up, in one line."""
    agent: str | None = None
    """Who is working, in the audit log; ``--as`` and ``SOCIALCARE_AGENT`` win over it."""
    claim_expiry: Duration = timedelta(minutes=30)
    """How long `socialcare claim` holds a case for one person."""
    templates: Path | None = None
    secrets_file: Path | None = None
    targets: ResponseTargets = ResponseTargets()
    calendar: CalendarSettings = CalendarSettings()
    holding: HoldingPolicy = HoldingPolicy()
    satisfaction: SatisfactionPolicy = SatisfactionPolicy()
    sentiment: SentimentConfig = SentimentConfig()
    daemon: DaemonConfig = DaemonConfig()
    smtp: SmtpConfig = SmtpConfig()
    report: ReportConfig = ReportConfig()
    escalation: EscalationConfig = EscalationConfig()
    tone: ToneConfig = ToneConfig()
    faq: FaqConfig = FaqConfig()
    accounts: dict[str, AccountConfig] = {}

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
    def faq_folder(self) -> Path:
        return self.folder / self.faq.folder

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def account(self, name: str) -> AccountConfig:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(self.accounts) or "none configured"
            raise ConfigError(f"no account named {name!r} (accounts: {known})") from None

    def targets_for(self, account: str) -> ResponseTargets:
        """The account's targets over the team's, key by key."""
        own = self.accounts[account].targets if account in self.accounts else None
        return own.over(self.targets) if own is not None else self.targets

    def calendar_for(self, account: str) -> BusinessCalendar:
        """The account's business calendar (the team's unless it has its own), built once."""
        own = self.accounts[account].calendar if account in self.accounts else None
        key = account if own is not None else ""
        if key not in self._calendars:
            self._calendars[key] = BusinessCalendar(own or self.calendar)
        return self._calendars[key]

    def holding_for(self, account: str) -> HoldingPolicy:
        own = self.accounts[account].holding if account in self.accounts else None
        return own or self.holding

    def satisfaction_for(self, account: str) -> SatisfactionPolicy:
        own = self.accounts[account].satisfaction if account in self.accounts else None
        return own or self.satisfaction

    @cached_property
    def _calendars(self) -> dict[str, BusinessCalendar]:
        return {}

    def secrets_for(self, account: str, names: tuple[str, ...], public: tuple[str, ...] = ()) -> dict[str, SecretStr]:
        """Each named secret from ``SOCIALCARE_<ACCOUNT>_<NAME>``, else from the secrets file.

        Every value read is masked in whatever the process shows, except the ``public`` ones (a
        username that is also the account's name on the platform).
        """
        filed = self._secrets_file().get(account, {})
        found: dict[str, SecretStr] = {}
        for name in names:
            value = os.environ.get(secret_env_name(account, name)) or filed.get(name)
            if value:
                if name not in public:
                    remember(str(value))
                found[name] = SecretStr(str(value))
        return found

    def _secrets_file(self) -> Mapping[str, Mapping[str, Any]]:
        if self.secrets_file is None:
            return {}
        try:
            mode = self.secrets_file.stat().st_mode
            if mode & 0o077:
                raise ConfigError(
                    f"secrets_file: {self.secrets_file} can be read by other users; run `chmod 600 {self.secrets_file}`"
                )
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
    team_calendar = data.get("calendar", {})
    if isinstance(team_calendar, Mapping):
        team_calendar = {"timezone": data.get("timezone", "UTC"), **team_calendar}
        data["calendar"] = team_calendar
    accounts = data.get("accounts", {})
    if not isinstance(accounts, Mapping):
        raise ConfigError(f"{path}: accounts: must be a table of [accounts.NAME] sections")
    policies = {key: data.get(key) for key in _POLICIES}
    data["accounts"] = {
        name: _account_section(name, section, team_calendar, policies) if isinstance(section, Mapping) else section
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


_POLICIES = ("holding", "satisfaction")
"""Sections an account can override key by key."""


def _account_section(
    name: str, section: Mapping[str, Any], calendar: Any, policies: Mapping[str, Any]
) -> dict[str, Any]:
    """An account's table with its own calendar and policies laid over the team's, to validate as one."""
    merged = {**section, "name": name}
    if isinstance(section.get("calendar"), Mapping) and isinstance(calendar, Mapping):
        merged["calendar"] = merge_calendars(calendar, section["calendar"])
    for key, team in policies.items():
        if isinstance(section.get(key), Mapping) and isinstance(team, Mapping):
            merged[key] = {**team, **section[key]}
    return merged


def _absolute_sqlite(url: str, folder: Path) -> str:
    prefix = "sqlite:///"
    rest = url[len(prefix) :]
    if url.startswith(prefix) and not rest.startswith(("/", "file:")) and rest != ":memory:":  # file: is a URI
        return prefix + str(folder / rest)
    return url
