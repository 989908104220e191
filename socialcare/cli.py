"""``socialcare``: the command line. A thin layer over functions that tests call directly.

Exit codes: 0 ok, 1 a user's mistake (one line on stderr saying what to do), 2 bad usage.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NoReturn

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from sqlmodel import col, select

from connectors.base import ConnectorError, PermanentError
from sentiment.base import BackendUnavailable
from socialcare import cases, customers, db, faq, filters, review_keys, team, terminal
from socialcare import config as configuration
from socialcare.app import App
from socialcare.audit import current_user
from socialcare.cases import QueueFilter
from socialcare.config import Config, ConfigError
from socialcare.db import DatabaseError, session_scope
from socialcare.errors import UserError
from socialcare.models import Account, Quarantine
from socialcare.redaction import RedactingFormatter, redact

if TYPE_CHECKING:  # the outbox loads with the commands that send
    from socialcare.outbox import SendResult

console = Console(highlight=False)
USER_ERRORS = (UserError, ConfigError, DatabaseError, BackendUnavailable, PermanentError)

app = typer.Typer(
    help="Every customer message answered, on the same channel, within its target time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is text: "[env: ...]" and "[sentiment]" are not markup
)
db_app = typer.Typer(help="The store: create or migrate its schema.", no_args_is_help=True, rich_markup_mode=None)
sandbox_app = typer.Typer(
    help="A local platform kept in a file, to try everything with no account.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class _CustomerCommands(typer.core.TyperGroup):
    """``customer HANDLE`` is short for ``customer show HANDLE``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


customer_app = typer.Typer(
    cls=_CustomerCommands,
    help="One customer across channels: `customer HANDLE [--json]` shows them; link or split identities.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")
faq_app = typer.Typer(
    help="Saved answers: the team's FAQ, suggested in show and review.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(customer_app, name="customer")
app.add_typer(faq_app, name="faq")


def say_error(message: str) -> None:
    """One line on stderr, never wrapped or styled, so scripts and people read it the same."""
    sys.stderr.write("error: " + " ".join(terminal.plain(redact(message)).split()) + "\n")


class Context:
    """Loads config, store and models only when a command needs them."""

    latest: ClassVar[Context | None] = None
    """The running command's, so an error from the store can name the store after the command ended."""

    def __init__(self, config_path: Path | None, agent: str | None = None) -> None:
        self.explicit = config_path is not None or "SOCIALCARE_CONFIG" in os.environ
        self.path = configuration.resolve_path(config_path)
        self._app: App | None = None
        self._agent = agent
        Context.latest = self

    @property
    def agent(self) -> str:
        """Who is working, for the audit log: --as, else $SOCIALCARE_AGENT, else the config's agent, else the login."""
        return team.agent_name(self._agent or os.environ.get("SOCIALCARE_AGENT") or self.config.agent or current_user())

    @property
    def config(self) -> Config:
        return self.app.config

    @property
    def app(self) -> App:
        if self._app is None:
            application = App(configuration.load(self.path))
            _ = application.channels  # every account's settings are checked before anything runs
            self._app = application
        return self._app

    def ready_app(self) -> App:
        """The app over a migrated store with its accounts in place."""
        self.app.check_store()
        self.app.sync_accounts()
        return self.app

    def classifier(self):  # type: ignore[no-untyped-def]
        if not self.explicit and not self.path.exists():
            import sentiment

            return sentiment.load()
        return self.app.classifier


def _print_version(wanted: bool) -> None:
    if wanted:
        from socialcare import __version__

        sys.stdout.write(f"socialcare {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file [env: SOCIALCARE_CONFIG; default: config/socialcare.toml]"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
    agent: Annotated[
        str | None,
        typer.Option("--as", help="Your name in the audit log [env: SOCIALCARE_AGENT; else config agent, else login]"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit.")
    ] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in ("httpx", "urllib3", "prawcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # A lane busy for longer than its one-second tick is normal; APScheduler warns of each skipped tick.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.ERROR)
    ctx.obj = Context(config, agent)


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


STARTER = resources.files("socialcare.bundled") / "socialcare.example.toml"
SEED_PATH = resources.files("socialcare.bundled") / "sandbox-seed.json"


@app.command()
def init(
    ctx: typer.Context,
    show: Annotated[bool, typer.Option("--print", help="Print the starter config instead of writing it.")] = False,
) -> None:
    """Write a commented starter config at the config path in use and create the database."""
    if show:  # the file as it is, never re-wrapped to the terminal: `init --print > socialcare.toml` must parse
        sys.stdout.write(STARTER.read_text(encoding="utf-8"))
        return
    context = _ctx(ctx)
    if context.path.exists():
        console.print(Text(f"keeping the existing config {context.path}"))
    else:
        context.path.parent.mkdir(parents=True, exist_ok=True)
        context.path.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
        console.print(Text(f"wrote {context.path}"))
    revision = db.upgrade(context.app.engine)
    context.app.sync_accounts()
    console.print(Text(f"database ready at {db.redact_url(context.config.database_url)} (schema {revision})"))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to this version."""
    context = _ctx(ctx)
    revision = db.upgrade(context.app.engine)
    console.print(Text(f"database at schema {revision}"))


@app.command()
def poll(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Per account and in all, as JSON (errors redacted).")] = False,
) -> None:
    """Fetch new messages from every account (or one) and queue them."""
    application = _ctx(ctx).ready_app()
    names = [application.config.account(account).name] if account else list(application.channels)
    polled = []
    for name in names:
        outcome = application.poll(name, force=True)
        error = redact(outcome.error) if outcome.error else None
        polled.append({"account": name, "fetched": outcome.fetched, "new": outcome.new, "error": error})
        if as_json:
            continue
        if error:
            say_error(f"{name}: {error}")
        else:
            console.print(Text(f"{name}: fetched {outcome.fetched}, new {outcome.new}"))
    processed = application.process()
    if as_json:
        done = {"accounts": polled, "classified": processed.classified, "cases": processed.cases}
        sys.stdout.write(json.dumps(done, ensure_ascii=False) + "\n")
    else:
        console.print(Text(f"classified {processed.classified}, cases updated {processed.cases}"))
    if any(p["error"] for p in polled):
        raise typer.Exit(1)


def _when(moment: datetime, zone: Any, now: datetime) -> str:
    local = moment.astimezone(zone)
    fmt = "%H:%M" if local.date() == now.astimezone(zone).date() else "%Y-%m-%d %H:%M"
    return local.strftime(fmt)


def _left(seconds: int) -> Text:
    span = _span(abs(seconds))
    if seconds < 0:
        return Text(f"overdue {span}", style="bold red")
    return Text(f"in {span}", style="yellow" if seconds < 900 else "green")


def _open_left(row: dict[str, Any]) -> int:
    """Time left in the team's open hours where a calendar says so, else on the wall clock."""
    left = row["open_seconds_left"]
    return int(left if left is not None else row["seconds_left"])


def _span(seconds: int) -> str:
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d"


def _known_status(value: str) -> str:
    if value not in cases.STATUSES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(cases.STATUSES)}")
    return value


def _known_channel(config: Config, channel: str | None) -> None:
    """An account name or a platform of the config: a typo must not read as "no open cases"."""
    known = set(config.accounts) | {a.platform for a in config.accounts.values()}
    if channel is not None and channel not in known:
        raise UserError(f"no account or platform {channel!r} in the config (known: {', '.join(sorted(known))})")


@app.command("queue")
def queue_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    status: Annotated[
        str, typer.Option(help="open, waiting, answered, closed, all, or quarantined.", callback=_known_status)
    ] = "open",
    channel: filters.ChannelOption = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many cases.")] = None,
    intent: filters.IntentOption = None,
    language: filters.LanguageOption = None,
    priority: filters.PriorityOption = None,
    customer: filters.CustomerOption = None,
    containing: filters.ContainingOption = None,
) -> None:
    """The cases to answer, soonest deadline first, with the time left."""
    application = _ctx(ctx).ready_app()
    _known_channel(application.config, channel)
    wanted = QueueFilter(
        status=status,
        channel=channel,
        limit=limit,
        intent=intent,
        language=language,
        priority=priority,
        customer=customer,
        containing=containing,
    )
    with session_scope(application.engine) as session:
        rows = cases.queue(session, wanted, calendars=application.config.calendar_for)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        console.print(Text(f"no {status} cases" if status != "all" else "no cases"))
        return
    now = datetime.now().astimezone()
    zone = application.config.zone
    if status == "quarantined":
        _render_quarantine(rows, zone, now)
        return
    channels = {row["account"] for row in rows}
    where = f" on {terminal.cut(next(iter(channels)), terminal.NAME_WIDTH)}" if len(channels) == 1 else ""
    console.print(Text(f"{len(rows)} {status} case(s){where}, times in {application.config.timezone}"))
    lines = [
        [
            Text(str(row["id"])),
            Text(_when(datetime.fromisoformat(row["due_at"]), zone, now)),
            _left(_open_left(row)) if row["status"] == "open" else Text(row["status"]),
            Text(row["priority"], style="bold red" if row["priority"] != "normal" else ""),
            Text(terminal.cut(row["account"], terminal.NAME_WIDTH)),
            Text(terminal.cut(row["customer"], terminal.NAME_WIDTH)),
            Text(row["reply_status"] or ("reject?" if row["suggestion"] else "-")),
            Text(terminal.cut(row["held_by"] or "-", 16), style="magenta" if row["held_by"] else "dim"),
            Text(terminal.cut(row["message"], 400)),
        ]
        for row in rows
    ]
    header = ["case", "due", "left", "priority", "channel", "customer", "reply", "held by", "message"]
    if where:  # one channel: named in the title, its column is room for the message
        header, lines = header[:4] + header[5:], [line[:4] + line[5:] for line in lines]
    shrink = tuple(i for i, name in enumerate(header) if name in ("channel", "customer", "held by"))
    for line in terminal.columns(header, lines, console.width, flex=len(header) - 1, shrink=shrink):
        console.print(line, no_wrap=True, overflow="ellipsis", crop=True)


def _render_quarantine(rows: list[dict[str, Any]], zone: Any, now: datetime) -> None:
    """A line per held message, and under it why it is held: the reason is what a person acts on."""
    console.print(Text(f"{len(rows)} message(s) held: the store could not take them as they came"))
    lines = [
        [
            Text(_when(datetime.fromisoformat(row["held_at"]), zone, now)),
            Text(terminal.cut(row["account"], terminal.NAME_WIDTH)),
            Text(terminal.cut(row["external_id"], terminal.NAME_WIDTH)),
            Text(terminal.cut(row["author"], terminal.NAME_WIDTH)),
            Text(terminal.cut(row["text"], 400)),
        ]
        for row in rows
    ]
    header = ["held", "channel", "message id", "author", "text"]
    head, *listed = terminal.columns(header, lines, console.width, flex=4, shrink=(1, 2, 3))
    console.print(head, no_wrap=True, overflow="ellipsis", crop=True)
    for line, row in zip(listed, rows, strict=True):
        console.print(line, no_wrap=True, overflow="ellipsis", crop=True)
        why = Text(f"    why: {terminal.cut(row['error'], max(10, console.width - 9))}", style="dim")
        console.print(why, no_wrap=True, overflow="ellipsis", crop=True)


@app.command()
def show(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id (see `socialcare queue`).")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """One case: its messages with verdicts, the customer's history, the draft."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        detail = cases.show(session, case, calendars=application.config.calendar_for, saved=application.saved_answers)
    if as_json:
        console.print_json(json.dumps(detail, ensure_ascii=False))
        return
    _render_case(detail, application.config)


def _render_case(detail: dict[str, Any], config: Config) -> None:
    """A case as a teammate needs it: where it stands, the thread, replies, notes and who did what."""
    zone, now = config.zone, datetime.now().astimezone()

    def when(iso: str) -> str:
        return _when(datetime.fromisoformat(iso), zone, now)

    customer = detail["customer"]
    head = Text()
    head.append(f"case {detail['id']}", style="bold")
    head.append(f"  {detail['status']}  {detail['priority']}  ")
    head.append(f"{terminal.cut(detail['account'], terminal.NAME_WIDTH)} ({detail['platform']})")
    head.append(f"  times in {config.timezone}\n", style="dim")
    head.append(f"customer {terminal.cut(customer['name'], 60)} @{terminal.cut(customer['handle'], 60)}")
    head.append(f"  language {detail['language'] or '?'}\n")
    others = [
        f"{i['platform']}:{terminal.cut(i['handle'], 40)}"
        for i in customer["identities"]
        if i["handle"] != customer["handle"]
    ]
    if others:
        head.append(f"also {', '.join(others[:10])}\n")
    if detail["status"] == "open":
        head.append(f"due {when(detail['due_at'])}  ")
        head.append_text(_left(_open_left(detail)))
    elif detail["status"] == "closed":
        reason = terminal.cut(detail["close_reason"] or "-", 200)
        head.append(f"closed {when(detail['closed_at']) if detail['closed_at'] else ''}: {reason}")
    elif detail["status"] == "answered":
        head.append(f"answered {when(detail['closed_at']) if detail['closed_at'] else ''}")
    else:
        head.append("waiting on the customer: the clock is stopped until they write")
    if detail["promised_at"] and detail["status"] == "open":
        head.append(f"\npromised the customer an answer by {when(detail['promised_at'])}")
    if detail["held_by"]:
        head.append(f"\nheld by {terminal.cut(detail['held_by'], 64)} until {when(detail['held_until'])}")
    console.print(Panel(head))
    if detail["suggestion"]:
        console.print(Text(f"suggested: reject, no reply ({detail['suggestion']})", style="yellow"))
    for saved in detail["saved_answers"]:
        console.print(
            Text(f"saved answer {saved['id']} ({saved['score']:.2f}): {terminal.cut(saved['answer'], 100)}", "yellow")
        )
    for message in detail["messages"]:
        verdict = message["verdict"]
        line = Text()
        line.append(f"{when(message['created_at'])} ", style="dim")
        author = terminal.cut(message["author"] or "us", 60)
        line.append(f"@{author}: ", style="bold" if message["direction"] == "inbound" else "cyan")
        line.append_text(terminal.safe_text(message["text"]))
        if verdict:
            line.append(
                f"\n    sentiment {verdict['label']} · intent {verdict['intent']}"
                f" · complaint {'yes' if verdict['is_complaint'] else 'no'}"
                f" · language {verdict['language'] or '?'} · by {verdict['backend']}",
                style="dim",
            )
        console.print(line)
    _render_history(detail["history"], zone, now, "earlier cases")
    for reply in detail["replies"][-3:]:
        title = f"reply {reply['id']} · {reply['kind']} · {reply['status']}"
        if reply["approved_by"]:
            title += f" · approved by {terminal.cut(reply['approved_by'], 64)} {when(reply['approved_at'])}"
        if reply["sent_at"]:
            title += f" · sent {when(reply['sent_at'])}"
        body = terminal.safe_text(reply["text"])
        if reply["error"]:
            label = "failed" if reply["status"] == "failed" else "last error"
            body.append(f"\n{label}: {terminal.cut(reply['error'], 300)}", style="red")
        console.print(Panel(body, title=Text(title), title_align="left"))
    if detail["same_as"]:
        _warn_repeats(detail["same_as"])
    for entry in detail["notes"]:
        line = Text(f"note {when(entry['at'])} {terminal.cut(entry['author'], 64)}: ", style="yellow")
        line.append_text(terminal.safe_text(entry["text"]))
        console.print(line)
    if detail["audit"]:
        console.print(Text("audit trail:", style="bold"))
    for entry in detail["audit"]:
        line = Text(f"  {when(entry['at'])} ", style="dim")
        line.append(f"{terminal.cut(entry['actor'], 64)} {entry['action']}")
        said = _audit_detail(entry["detail"])
        if said:
            line.append(f"  {said}", style="dim")
        console.print(line)


_AUDIT_KEYS = ("reason", "error", "via", "was", "by", "from", "holder", "attempt", "kind", "message", "forced")
"""What an audit entry's detail tells a teammate, in this order; the rest (a replaced text, ids) is in --json."""


def _audit_detail(detail: dict[str, Any]) -> str:
    return " ".join(f"{key}={terminal.cut(str(detail[key]), 120)}" for key in _AUDIT_KEYS if key in detail)


def _render_history(rows: list[dict[str, Any]], zone: Any, now: datetime, title: str) -> None:
    """A customer's cases on every channel: sentiment, the deadline kept or not, promises, their follow-up answer."""
    if not rows:
        return
    console.print(Text(f"{title}:", style="bold"))
    for row in rows:
        line = Text(f"  #{row['id']} {_when(datetime.fromisoformat(row['opened_at']), zone, now)} ", style="dim")
        line.append(f"{terminal.cut(row['account'], 40)} @{terminal.cut(row['handle'], 40)}")
        line.append(f" · {row['status']} · {row['priority']}")
        if row["sentiment"]:
            line.append(f" · {row['sentiment']}{' complaint' if row['complaint'] else ''}")
        if row["answered_in_time"] is not None:
            in_time = row["answered_in_time"]
            line.append(" · in time" if in_time else " · late", style="green" if in_time else "red")
        for promise in row["promises"]:
            by = _when(datetime.fromisoformat(promise["by"]), zone, now)
            line.append(
                f" · promised by {by}: {promise['outcome']}", style="red" if promise["outcome"] == "broken" else ""
            )
        if row["followup"] and row["followup"]["answer"]:
            answer = row["followup"]["score"] or row["followup"]["answer"]
            line.append(f" · follow-up: {answer}")
        line.append(f"\n      {terminal.cut(row['message'], 80)}")
        console.print(line)


def _connector_for_case(application: App, case_id: int):  # type: ignore[no-untyped-def]
    with session_scope(application.engine) as session:
        case = cases.get_case(session, case_id)
        account = session.get(Account, case.account_id)
        assert account is not None
    return application.channels.get(account.name)


CaseIds = Annotated[
    list[int] | None, typer.Argument(help="Case ids (or --all-matching with filters).", show_default=False)
]
AllMatching = Annotated[
    bool, typer.Option("--all-matching", help="Every open case the filters match (as `queue` lists them).")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before acting on several cases.")]


def _targets(
    application: App, given: list[int] | None, all_matching: bool, wanted: QueueFilter, verb: str, yes: bool
) -> list[int]:
    """The cases to act on: those named, or every open case the filters match after a confirmation
    that says how many (``--yes`` skips it)."""
    if bool(given) == all_matching:
        raise UserError("give case ids, or --all-matching with filters (`socialcare queue --help` lists them)")
    if given:
        ids = list(dict.fromkeys(given))
    else:
        _known_channel(application.config, wanted.channel)
        with session_scope(application.engine) as session:
            ids = [row["id"] for row in cases.queue(session, wanted) if row["reply_status"] in (None, "draft")]
    if all_matching and not ids:
        console.print(Text("no open case matches"))
    elif all_matching and not yes:
        shown = ", ".join(map(str, ids[:10])) + (", …" if len(ids) > 10 else "")
        typer.confirm(f"{verb} {len(ids)} case(s) ({shown})?", abort=True)
    return ids


def _each(ids: list[int], act: Any) -> None:
    """``act`` on every case, one transaction each; a case that cannot be done is one line, the rest go on."""
    failed = 0
    for case_id in ids:
        try:
            act(case_id)
        except UserError as err:
            failed += 1
            say_error(str(err) if len(ids) == 1 else f"case {case_id}: {err}")
    if len(ids) > 1:
        console.print(Text(f"{len(ids) - failed} of {len(ids)} done"))
    if failed:
        raise typer.Exit(1)


@app.command()
def approve(
    ctx: typer.Context,
    case: CaseIds = None,
    text: Annotated[
        str | None, typer.Option(help="Send this instead of the draft (also over a reply already approved).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Approve even if the tone guard refuses the reply or a teammate holds the case (audited)."
        ),
    ] = False,
    all_matching: AllMatching = False,
    yes: Yes = False,
    channel: filters.ChannelOption = None,
    intent: filters.IntentOption = None,
    language: filters.LanguageOption = None,
    priority: filters.PriorityOption = None,
    customer: filters.CustomerOption = None,
    containing: filters.ContainingOption = None,
) -> None:
    """Approve cases' replies (the draft, or --text); `send` or the daemon posts them."""
    application = _ctx(ctx).ready_app()
    agent = _ctx(ctx).agent
    wanted = QueueFilter(
        channel=channel, intent=intent, language=language, priority=priority, customer=customer, containing=containing
    )
    ids = _targets(application, case, all_matching, wanted, "approve", yes)

    def one(case_id: int) -> None:
        connector = _connector_for_case(application, case_id)
        with session_scope(application.engine) as session:
            team.check_free(session, case_id, agent, force=force)
            reply = cases.approve(
                session, case_id, agent, connector, text, guard=application.approval_guard, force=force
            )
            team.done(session, case_id, agent)
            same = cases.repeats(session, reply)
        console.print(Text(f"case {case_id}: reply {reply.id} approved"))
        _warn_repeats(same)

    _each(ids, one)


def _warn_repeats(same: list[str]) -> None:
    if same:
        console.print(Text(f"note: same text as {', '.join(same[:3])}", style="yellow"))


@app.command()
def reject(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why no reply is sent (kept in the audit log).")],
    case: CaseIds = None,
    force: Annotated[bool, typer.Option("--force", help="Even if a teammate holds the case.")] = False,
    all_matching: AllMatching = False,
    yes: Yes = False,
    channel: filters.ChannelOption = None,
    intent: filters.IntentOption = None,
    language: filters.LanguageOption = None,
    priority: filters.PriorityOption = None,
    customer: filters.CustomerOption = None,
    containing: filters.ContainingOption = None,
) -> None:
    """Close cases without replying: spam, duplicate, answered elsewhere."""
    application = _ctx(ctx).ready_app()
    agent = _ctx(ctx).agent
    wanted = QueueFilter(
        channel=channel, intent=intent, language=language, priority=priority, customer=customer, containing=containing
    )
    ids = _targets(application, case, all_matching, wanted, "reject", yes)

    def one(case_id: int) -> None:
        with session_scope(application.engine) as session:
            team.check_free(session, case_id, agent, force=force)
            cases.reject(session, case_id, agent, reason)
            team.done(session, case_id, agent)
        console.print(Text(f"case {case_id} closed: {terminal.cut(reason, 200)}"))

    _each(ids, one)


@app.command()
def claim(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id.")],
    force: Annotated[bool, typer.Option("--force", help="Take it from a teammate who holds it.")] = False,
) -> None:
    """Hold a case while you write its answer; teammates see it in `queue`, and it lapses after claim_expiry."""
    context = _ctx(ctx)
    application = context.ready_app()
    with session_scope(application.engine) as session:
        held = team.claim(session, case, context.agent, application.config.claim_expiry, force=force)
    until = held.expires_at.astimezone(application.config.zone)
    console.print(Text(f"case {case} is yours until {until:%H:%M} {application.config.timezone}"))


@app.command()
def release(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id.")],
    force: Annotated[bool, typer.Option("--force", help="Release a teammate's claim.")] = False,
) -> None:
    """Let go of a case you claimed."""
    context = _ctx(ctx)
    application = context.ready_app()
    with session_scope(application.engine) as session:
        team.release(session, case, context.agent, force=force)
    console.print(Text(f"case {case} released"))


@app.command()
def note(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id.")],
    text: Annotated[str, typer.Argument(help="The note, for the team only.")],
) -> None:
    """Add an internal note to a case: shown in `show`, never sent to the customer."""
    context = _ctx(ctx)
    application = context.ready_app()
    with session_scope(application.engine) as session:
        added = team.note(session, case, context.agent, text)
    console.print(Text(f"case {case}: note {added.id} added"))


@app.command()
def unapprove(ctx: typer.Context, case: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Take an approval back while the reply is not being sent: it is a draft again."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        reply = cases.unapprove(session, case, _ctx(ctx).agent)
    console.print(Text(f"case {case}: reply {reply.id} is a draft again"))


@app.command()
def reopen(ctx: typer.Context, case: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Open an answered or closed case again: back in the queue, its last messages waiting, with a draft."""
    from socialcare import triage

    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        reopened = cases.reopen(session, case, _ctx(ctx).agent)
        triage.refresh(session, reopened, application.config, application.drafter)
    console.print(Text(f"case {case} is open again"))


@app.command()
def wait(ctx: typer.Context, case: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Waiting on the customer: the case leaves the queue and its clock stops until they write again."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        cases.wait(session, case, _ctx(ctx).agent)
    console.print(Text(f"case {case} is waiting on the customer; it comes back when they write"))


@app.command()
def send(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="The counts as JSON.")] = False,
) -> None:
    """Post every approved reply on its channel, in its thread."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        waiting = cases.approved_count(session)

    def progress(so_far: SendResult) -> None:
        tried = so_far.sent + so_far.failed + so_far.deferred + so_far.recovered
        _progress(f"{tried:,} of {waiting:,} approved replies tried, {so_far.sent:,} sent", done=False)

    try:
        result = application.send(progress=progress if waiting > 1 else None)
        _progress("", done=waiting > 1)
    except KeyboardInterrupt:
        say_error("interrupted: a reply in flight is approved again and is looked for on its channel before a retry")
        raise typer.Exit(130) from None
    counts = {"sent": result.sent, "failed": result.failed, "deferred": result.deferred, "recovered": result.recovered}
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")
    else:
        console.print(Text(", ".join(f"{key} {value}" for key, value in counts.items())))
    if result.failed:
        raise typer.Exit(1)


@app.command()
def review(ctx: typer.Context) -> None:
    """Walk the open queue one case at a time: approve, edit in $EDITOR, skip, reject or quit (? for the keys)."""
    application = _ctx(ctx).ready_app()
    agent = _ctx(ctx).agent
    with session_scope(application.engine) as session:
        rows = [
            row for row in cases.queue(session, QueueFilter()) if row["reply_status"] == "draft" or row["suggestion"]
        ]
    ids = [row["id"] for row in rows if row["held_by"] in (None, agent)]
    if len(ids) < len(rows):
        console.print(Text(f"leaving {len(rows) - len(ids)} case(s) that teammates hold"))
    if not ids:
        console.print(Text("nothing to review"))
        return
    tally = review_keys.Tally()
    try:
        for position, case_id in enumerate(ids, 1):
            with session_scope(application.engine) as session:
                detail = cases.show(
                    session, case_id, calendars=application.config.calendar_for, saved=application.saved_answers
                )
            draft = next((r["text"] for r in reversed(detail["replies"]) if r["status"] == "draft"), None)
            if draft is None and not detail["suggestion"]:  # approved or answered since the list was made
                continue
            console.rule(f"{position}/{len(ids)}")
            _render_case(detail, application.config)
            if not _review_one(application, case_id, draft or "", tally, agent):
                break
    except (KeyboardInterrupt, typer.Abort):
        console.print(Text(f"\nstopped: {tally}"))
        raise typer.Exit(130) from None
    console.print(Text(str(tally)))


def _review_one(application: App, case_id: int, draft: str, tally: review_keys.Tally, agent: str) -> bool:
    """One case's reply; returns False when the user quits. After an edit, Enter approves the edited text."""
    text, edited = draft, False
    while True:
        choice = review_keys.ask(edited)
        try:
            if choice == "a":
                connector = _connector_for_case(application, case_id)
                with session_scope(application.engine) as session:
                    team.check_free(session, case_id, agent)
                    reply = cases.approve(
                        session, case_id, agent, connector, text if edited else None, guard=application.approval_guard
                    )
                    team.done(session, case_id, agent)
                    same = cases.repeats(session, reply)
                tally.count("edited" if edited else "approved")
                console.print(Text(f"case {case_id}: approved" + (" with your edit" if edited else "")))
                _warn_repeats(same)
                return True
            if choice == "e":
                text, edited = _edit(text), True
                console.print(Panel(terminal.safe_text(text), title="edited reply", title_align="left"))
                continue
            if choice == "r":
                reason = typer.prompt("reason")
                with session_scope(application.engine) as session:
                    team.check_free(session, case_id, agent)
                    cases.reject(session, case_id, agent, reason)
                    team.done(session, case_id, agent)
                tally.count("rejected")
                console.print(Text(f"case {case_id}: closed ({terminal.cut(reason, 200)})"))
                return True
            if choice == "s":
                tally.count("skipped")
                return True
            if choice == "q":
                return False
            if choice == "?":
                console.print(Text(review_keys.HELP))
                continue
        except UserError as err:
            say_error(str(err))
            continue
        say_error("type a, e, s, r, q or ? for help")


def _edit(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", encoding="utf-8", delete=False) as handle:
        handle.write(text + "\n")
    try:
        subprocess.run([*shlex.split(editor), handle.name], check=True)
        return Path(handle.name).read_text(encoding="utf-8").strip()
    except (OSError, subprocess.CalledProcessError) as err:
        raise UserError(f"the editor {editor!r} failed ({err}); set $EDITOR") from None
    finally:
        os.unlink(handle.name)


@app.command()
def classify(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines with label, scores, is_complaint, intent, language, backend.")
    ] = False,
) -> None:
    """Classify stdin, one text per line; one verdict per line out, in order."""
    classifier = _ctx(ctx).classifier()
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    keys = ("label", "scores", "is_complaint", "intent", "language", "backend")
    for start in range(0, len(lines), 256):
        for verdict in classifier.classify(lines[start : start + 256]):
            if as_json:
                data = verdict.to_json()
                sys.stdout.write(json.dumps({k: data[k] for k in keys}, ensure_ascii=False) + "\n")
            else:
                flag = "complaint" if verdict.is_complaint else "-"
                sys.stdout.write(f"{verdict.label}\t{verdict.intent}\t{flag}\t{verdict.language or '-'}\n")
        _progress(f"classified {min(start + 256, len(lines)):,} of {len(lines):,}", done=start + 256 >= len(lines))


def _progress(said: str, *, done: bool) -> None:
    """How far long work has got, on one line of a terminal's stderr; nothing when stderr is a file or pipe."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{said}" + ("\n" if done else ""))
        sys.stderr.flush()


@app.command()
def daemon(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run every job once and exit.")] = False,
) -> None:
    """Poll, classify, draft, send and watch deadlines, on the intervals in config."""
    from socialcare.daemon import Daemon

    worker = Daemon(_ctx(ctx).app)
    worker.start()
    if once:
        worker.run_once()
    else:
        worker.run()


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, today or yesterday, in the team's timezone.")
    ] = "yesterday",
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML page, charts inline, to FILE.")] = None,
    email: Annotated[bool, typer.Option("--email", help="Email it to [smtp] to.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Every figure as JSON.")] = False,
) -> None:
    """The day's care report: volume, responses, deadlines kept, sentiment, complaint themes (see README)."""
    from socialcare import report as reporting

    application = _ctx(ctx).ready_app()
    config = application.config
    built = reporting.build(application.engine, config, reporting.parse_day(day, config.zone))
    images = reporting.charts(built) if out or email else {}
    done = []
    if out is not None:
        try:
            out.write_text(reporting.render_html(built, reporting.data_uris(images)), encoding="utf-8")
        except OSError as err:
            raise UserError(f"cannot write {out}: {err.strerror or err}") from None
        done.append(f"wrote {out}")
    if email:
        reporting.email(config, built, images)
        done.append(f"sent to {', '.join(config.smtp.to)}")
    if as_json:
        sys.stdout.write(reporting.to_json(built) + "\n")
    elif not done:
        sys.stdout.write(reporting.render_text(built))
    for line in done:
        (sys.stderr if as_json else sys.stdout).write(line + "\n")


@app.command()
def simulate(
    ctx: typer.Context,
    replay: Annotated[Path, typer.Option("--replay", help="A Customer Support on Twitter CSV file.")],
    agents: Annotated[
        str, typer.Option("--agents", help="People on the team, or auto: the fewest keeping 99 %.")
    ] = "auto",
    handle_time: Annotated[str, typer.Option("--handle-time", help="Time a person takes per draft.")] = "4m",
    shifts: Annotated[str, typer.Option("--shifts", help="Comma-separated daily shifts, team's time.")] = "00:00-24:00",
    speed: Annotated[str, typer.Option("--speed", help="600x paces the replay; max runs flat out.")] = "max",
    quick: Annotated[bool, typer.Option("--quick", help="Flat out whatever --speed says (CI).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Every figure as JSON.")] = False,
) -> None:
    """Replay real conversations through the product on a simulated clock: how many people the team needs."""
    from socialcare import simulate as simulation

    context = _ctx(ctx)
    config_path = context.path if context.explicit or context.path.exists() else None
    options = {"agents": agents, "handle_time": handle_time, "shifts": shifts, "speed": speed}
    sys.stdout.write(simulation.command(replay, **options, quick=quick, as_json=as_json, config_path=config_path))


@app.command()
def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One object per check, as JSON (secrets masked).")] = False,
) -> None:
    """Check the store, the sentiment backend and every account; non-zero exit if anything is wrong."""
    from socialcare import coordinator

    context = _ctx(ctx)
    checks: list[dict[str, Any]] = []

    def report(ok: bool, what: str, detail: str) -> None:
        checks.append({"check": what, "ok": ok, "detail": redact(detail)})
        if as_json:
            return
        line = Text("ok   " if ok else "FAIL ", style="green" if ok else "bold red")
        line.append(terminal.plain(redact(f"{what}: {detail}")))
        console.print(line, soft_wrap=True)

    application = context.app
    failing: dict[str, Account] = {}
    try:
        application.check_store()
        db.check_writable(application.engine)
        application.sync_accounts()
        report(True, "database", f"{db.redact_url(application.config.database_url)} at schema {db.head_revision()}")
        with session_scope(application.engine) as session:
            failing = {a.name: a for a in session.exec(select(Account).where(col(Account.error_kind).is_not(None)))}
            held = session.exec(select(sa.func.count()).select_from(Quarantine)).one()
        if held:
            report(True, "quarantine", f"{held} message(s) held, see `socialcare queue --status quarantined`")
    except DatabaseError as err:
        report(False, "database", str(err))
    try:
        classifier = application.classifier
        report(True, "sentiment", f"{classifier.name} {classifier.version} from {classifier.source}")
    except BackendUnavailable as err:
        report(False, "sentiment", str(err))
    zone = application.config.zone
    for name, account in application.config.accounts.items():
        if not account.enabled:
            report(True, name, "disabled in config")
            continue
        try:
            connector = application.channels[name]
            needed = connector.required_secrets()
            missing = [
                s for s in needed if s not in application.config.secrets_for(name, needed, connector.public_secrets)
            ]
            if missing:
                names = ", ".join(configuration.secret_env_name(name, s) for s in missing)
                report(False, name, f"missing secrets: set {names} or put them in the secrets file")
                continue
            who = connector.verify()
        except ConnectorError as err:
            report(False, name, f"{type(err).__name__}: {err}")
            continue
        state = failing.get(name)
        if state is None:
            report(True, name, who)
        elif state.auth_failed_at is not None and coordinator.resume(application.engine, name):
            when = state.auth_failed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            report(True, name, f"{who}; it had been stopped since {when} ({state.last_error}): resumed")
        else:
            since = state.failing_since or state.last_poll_at
            when = since.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if since else "?"
            report(False, name, f"{who}, but it has been failing since {when} ({state.last_error})")
    if as_json:
        sys.stdout.write(json.dumps({"ok": all(c["ok"] for c in checks), "checks": checks}, ensure_ascii=False) + "\n")
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)


Who = Annotated[str, typer.Argument(help="platform:handle (e.g. sandbox:ann), a handle alone, or an identity id.")]


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    who: Who,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """A customer: their identities on every channel, recent cases, promises kept or not, follow-up answers."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        detail = customers.profile(session, who)
    if as_json:
        console.print_json(json.dumps(detail, ensure_ascii=False))
        return
    zone, now = application.config.zone, datetime.now().astimezone()
    head = Text(f"customer {detail['id']}", style="bold")
    head.append(f"  {terminal.cut(detail['name'], 80)}")
    head.append(f"  times in {application.config.timezone}", style="dim")
    for identity in detail["identities"]:
        head.append(f"\n  identity {identity['id']}: {identity['platform']}:{terminal.cut(identity['handle'], 80)}")
        for key in ("email", "phone"):
            if identity[key]:
                head.append(f"  {terminal.cut(identity[key], 80)}")
    if detail["followups_stopped_at"]:
        head.append("\nasked for no more follow-ups")
    console.print(Panel(head))
    _render_history(detail["history"], zone, now, "cases")
    for entry in detail["audit"]:
        console.print(
            Text(
                f"{_when(datetime.fromisoformat(entry['at']), zone, now)} "
                f"{terminal.cut(entry['actor'], 64)}: {terminal.cut(entry['said'], 300)}"
            )
        )


@customer_app.command("link")
def customer_link(ctx: typer.Context, first: Who, second: Who) -> None:
    """Make two identities one customer, with everyone already linked to either; their histories join."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        customer = customers.link(session, first, second, _ctx(ctx).agent)
        names = ", ".join(f"{i['platform']}:{i['handle']}" for i in customers.summary(session, customer)["identities"])
    console.print(Text(f"customer {customer.id}: {names}"))


@customer_app.command("unlink")
def customer_unlink(ctx: typer.Context, who: Who) -> None:
    """Split an identity out to a customer of its own; automatic linking leaves it alone from then on."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        customer = customers.unlink(session, who, _ctx(ctx).agent)
    console.print(Text(f"{who} is customer {customer.id} now, on its own"))


@faq_app.command("add")
def faq_add(ctx: typer.Context, case: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Save the case's approved or sent reply as a saved answer, with the customer's message as its example."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        language, entry = cases.saved_answer(session, case, application.drafter.language_for)
    path = faq.append(application.config.faq_folder, language, entry)
    console.print(Text(f"saved answer {entry.id} added to {path}"))


def _sandbox(context: Context, account: str | None):  # type: ignore[no-untyped-def]
    from connectors.sandbox import SandboxConnector

    names = [account] if account else [n for n, a in context.config.accounts.items() if a.platform == "sandbox"]
    if not names:
        raise UserError('no sandbox account in the config; add an [accounts.NAME] with platform = "sandbox"')
    connector = context.app.channels.get(context.config.account(names[0]).name)
    if not isinstance(connector, SandboxConnector):
        raise UserError(f"account {names[0]!r} is not an enabled sandbox account")
    return connector


SandboxAccount = Annotated[str | None, typer.Option("--account", help="Which sandbox account (default: the first).")]


@sandbox_app.command("post")
def sandbox_post(
    ctx: typer.Context,
    author: Annotated[str, typer.Option(help="The customer's handle.")],
    text: Annotated[str, typer.Option(help="What they write.")],
    name: Annotated[str | None, typer.Option(help="Their display name.")] = None,
    reply_to: Annotated[str | None, typer.Option(help="Id of the post this answers.")] = None,
    email: Annotated[str | None, typer.Option(help="Their email, as an email channel would give it.")] = None,
    phone: Annotated[str | None, typer.Option(help="Their phone, as WhatsApp would give it (+39...).")] = None,
    account: SandboxAccount = None,
) -> None:
    """Post on the sandbox as a customer would; prints the new post's id."""
    given = {"author": author, "text": text, "name": name, "reply-to": reply_to, "email": email, "phone": phone}
    for option, value in given.items():
        _check_utf8(option, value)
    if not text.strip():
        raise UserError("the post is empty; give some --text")
    if not author.strip() or any(c.isspace() for c in author):
        raise UserError("--author must be a handle without spaces")
    connector = _sandbox(_ctx(ctx), account)
    sys.stdout.write(connector.post(author, text, name=name, reply_to=reply_to, email=email, phone=phone) + "\n")


def _check_utf8(option: str, value: str | None) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: refused here rather than posted and quarantined."""
    bad = next((c for c in value or "" if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        byte = f"byte 0x{ord(bad) - 0xDC00:02x}" if "\udc80" <= bad <= "\udcff" else f"U+{ord(bad):04X}"
        raise UserError(f"--{option} is not valid UTF-8 (it holds the {byte}); set the terminal to UTF-8 and try again")


@sandbox_app.command("timeline")
def sandbox_timeline(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    account: SandboxAccount = None,
) -> None:
    """Every post and reply on the sandbox, by thread."""
    connector = _sandbox(_ctx(ctx), account)
    posts = connector.posts()
    threads: dict[int, dict[str, Any]] = {}
    for post in posts:
        if post["reply_to"] is None:
            threads[post["id"]] = {**post, "replies": []}
    for post in posts:
        if post["reply_to"] is not None and post["thread"] in threads:
            threads[post["thread"]]["replies"].append(post)
    if as_json:
        console.print_json(json.dumps(list(threads.values()), ensure_ascii=False))
        return
    zone = _ctx(ctx).config.zone
    now = datetime.now().astimezone()
    if threads:
        console.print(Text(f"times in {_ctx(ctx).config.timezone}", style="dim"))
    for thread in threads.values():
        for post in [thread, *thread["replies"]]:
            line = Text("  " if post["reply_to"] is not None else "")
            line.append(f"#{post['id']} ", style="dim")
            line.append(f"{_when(datetime.fromisoformat(post['created_at']), zone, now)} ", style="dim")
            author = terminal.cut(post["author"], 60)
            line.append(f"@{author}", style="cyan" if post["author"] == connector.settings.handle else "bold")
            line.append(": ")
            line.append_text(terminal.safe_text(post["text"]))
            console.print(line, soft_wrap=True)
    if not threads:
        console.print(Text("the sandbox is empty; try `socialcare sandbox seed`"))


@sandbox_app.command("seed")
def sandbox_seed(ctx: typer.Context, account: SandboxAccount = None) -> None:
    """Load a bundled set of realistic customer messages (English, Italian and more)."""
    connector = _sandbox(_ctx(ctx), account)
    try:
        seed = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read the bundled seed {SEED_PATH}: {err}") from None
    there = {(post["author"], post["text"]): str(post["id"]) for post in connector.posts()}
    ids: dict[str, str] = {}
    for item in seed:  # a post already there is not posted again: seeding twice makes no duplicate cases
        known = there.get((item["author"], item["text"]))
        reply_to = ids.get(item["reply_to"]) if item.get("reply_to") else None
        ids[item["key"]] = known or connector.post(
            item["author"], item["text"], name=item.get("name"), reply_to=reply_to
        )
    posted = sum(1 for item in seed if (item["author"], item["text"]) not in there)
    already = f"; {len(seed) - posted} were there already" if posted < len(seed) else ""
    console.print(Text(f"posted {posted} messages on the sandbox ({connector.settings.path}){already}"))


def _mount_sentiment() -> None:
    try:
        from sentiment.cli import app as sentiment_app
    except ImportError:
        return
    app.add_typer(sentiment_app, name="sentiment", help="Measure and train the sentiment model.")


_mount_sentiment()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a user's mistake becomes one line on stderr and exit code 1, never a traceback."""
    try:
        app(args=argv, prog_name="socialcare")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except USER_ERRORS as err:
        say_error(str(err))
        return 1
    except ConnectorError as err:
        say_error(f"{type(err).__name__}: {err}")
        return 1
    except Exception as err:
        if db.is_conflict(err):
            say_error("the case changed while you were working on it (the daemon, or a teammate): look again and retry")
            return 1
        explained = db.explain(err, _database_url())
        if explained is None:
            raise
        say_error(explained)
        return 1
    return 0


def _database_url() -> str:
    """The store the command was using, for an error about it (its password hidden by ``db.explain``)."""
    context = Context.latest
    if context is not None and context._app is not None:
        return context._app.config.database_url
    return "in use"


def run() -> NoReturn:
    sys.exit(main())
