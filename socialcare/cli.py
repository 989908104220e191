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
from typing import Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlmodel import col, select

from connectors.base import ConnectorError, PermanentError
from sentiment.base import BackendUnavailable
from socialcare import cases, coordinator, customers, db, faq
from socialcare import config as configuration
from socialcare.app import App
from socialcare.audit import current_user
from socialcare.cases import QueueFilter
from socialcare.config import Config, ConfigError
from socialcare.daemon import Daemon
from socialcare.db import DatabaseError, session_scope
from socialcare.errors import UserError
from socialcare.models import Account, Quarantine
from socialcare.redaction import RedactingFormatter, redact

console = Console(highlight=False)
USER_ERRORS = (UserError, ConfigError, DatabaseError, BackendUnavailable, PermanentError)

app = typer.Typer(
    help="Every customer message answered, on the same channel, within its target time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The store: create or migrate its schema.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="A local platform kept in a file, to try everything with no account.", no_args_is_help=True
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
)
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")
faq_app = typer.Typer(help="Saved answers: the team's FAQ, suggested in show and review.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(faq_app, name="faq")


def say_error(message: str) -> None:
    """One line on stderr, never wrapped or styled, so scripts and people read it the same."""
    sys.stderr.write("error: " + " ".join(redact(message).split()) + "\n")


class Context:
    """Loads config, store and models only when a command needs them."""

    def __init__(self, config_path: Path | None) -> None:
        self.explicit = config_path is not None or "SOCIALCARE_CONFIG" in os.environ
        self.path = configuration.resolve_path(config_path)
        self._app: App | None = None

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


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file [env: SOCIALCARE_CONFIG; default: config/socialcare.toml]"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in ("httpx", "urllib3", "prawcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # A lane busy for longer than its one-second tick is normal; APScheduler warns of each skipped tick.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.ERROR)
    ctx.obj = Context(config)


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
    if show:
        console.print(Text(STARTER.read_text(encoding="utf-8")), end="")
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
) -> None:
    """Fetch new messages from every account (or one) and queue them."""
    application = _ctx(ctx).ready_app()
    names = [application.config.account(account).name] if account else list(application.channels)
    failed = False
    for name in names:
        outcome = application.poll(name, force=True)
        if outcome.error:
            failed = True
            say_error(f"{name}: {outcome.error}")
        else:
            console.print(Text(f"{name}: fetched {outcome.fetched}, new {outcome.new}"))
    processed = application.process()
    console.print(Text(f"classified {processed.classified}, cases updated {processed.cases}"))
    if failed:
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


@app.command("queue")
def queue_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    status: Annotated[str, typer.Option(help="open, waiting, answered, closed, all, or quarantined.")] = "open",
    channel: Annotated[str | None, typer.Option(help="An account name or a platform.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many cases.")] = None,
) -> None:
    """The cases to answer, soonest deadline first, with the time left."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        rows = cases.queue(
            session, QueueFilter(status=status, channel=channel, limit=limit), calendars=application.config.calendar_for
        )
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
    table = Table(title=f"{len(rows)} {status} case(s), times in {application.config.timezone}")
    for column in ("case", "due", "left", "priority", "channel", "customer", "message", "reply"):
        table.add_column(column, overflow="fold")
    for row in rows:
        due = datetime.fromisoformat(row["due_at"])
        table.add_row(
            str(row["id"]),
            _when(due, zone, now),
            _left(_open_left(row)) if row["status"] == "open" else Text(row["status"]),
            Text(row["priority"], style="bold red" if row["priority"] != "normal" else ""),
            Text(row["account"]),
            Text(row["customer"]),
            Text(_clip(row["message"], 60)),
            Text(row["reply_status"] or ("reject?" if row["suggestion"] else "-")),
        )
    console.print(table)


def _render_quarantine(rows: list[dict[str, Any]], zone: Any, now: datetime) -> None:
    table = Table(title=f"{len(rows)} message(s) held: the store could not take them as they came")
    for column in ("held", "channel", "message id", "author", "text", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            _when(datetime.fromisoformat(row["held_at"]), zone, now),
            Text(row["account"]),
            Text(row["external_id"]),
            Text(row["author"]),
            Text(_clip(row["text"], 60)),
            Text(row["error"]),
        )
    console.print(table)


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


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
    zone, now = config.zone, datetime.now().astimezone()
    due = datetime.fromisoformat(detail["due_at"])
    customer = detail["customer"]
    head = Text()
    head.append(f"case {detail['id']}", style="bold")
    head.append(f"  {detail['status']}  {detail['priority']}  {detail['account']} ({detail['platform']})\n")
    head.append(f"customer {customer['name']} @{customer['handle']}  language {detail['language'] or '?'}\n")
    others = [f"{i['platform']}:{i['handle']}" for i in customer["identities"] if i["handle"] != customer["handle"]]
    if others:
        head.append(f"also {', '.join(others)}\n")
    head.append(f"due {_when(due, zone, now)} {config.timezone}  ")
    if detail["status"] == "open":
        head.append_text(_left(_open_left(detail)))
    if detail["promised_at"]:
        promised = datetime.fromisoformat(detail["promised_at"])
        head.append(f"\npromised the customer an answer by {_when(promised, zone, now)} {config.timezone}")
    console.print(Panel(head))
    if detail["suggestion"]:
        console.print(Text(f"suggested: reject, no reply ({detail['suggestion']})", style="yellow"))
    for saved in detail["saved_answers"]:
        console.print(
            Text(f"saved answer {saved['id']} ({saved['score']:.2f}): {_clip(saved['answer'], 100)}", "yellow")
        )
    for message in detail["messages"]:
        verdict = message["verdict"]
        line = Text()
        line.append(f"{_when(datetime.fromisoformat(message['created_at']), zone, now)} ", style="dim")
        line.append(f"@{message['author'] or 'us'}: ", style="bold" if message["direction"] == "inbound" else "cyan")
        line.append(message["text"])
        if verdict:
            complaint = " · complaint" if verdict["is_complaint"] else ""
            line.append(
                f"\n    {verdict['label']} · {verdict['intent']}{complaint}"
                f" · {verdict['language'] or '?'} · {verdict['backend']}",
                style="dim",
            )
        console.print(line)
    _render_history(detail["history"], zone, now, "earlier cases")
    for reply in detail["replies"][-3:]:
        console.print(Panel(Text(reply["text"]), title=f"reply {reply['id']} · {reply['status']}", title_align="left"))
    if detail["same_as"]:
        _warn_repeats(detail["same_as"])


def _render_history(rows: list[dict[str, Any]], zone: Any, now: datetime, title: str) -> None:
    """A customer's cases on every channel: sentiment, the deadline kept or not, promises, their follow-up answer."""
    if not rows:
        return
    console.print(Text(f"{title}:", style="bold"))
    for row in rows:
        line = Text(f"  #{row['id']} {_when(datetime.fromisoformat(row['opened_at']), zone, now)} ", style="dim")
        line.append(f"{row['account']} @{row['handle']} · {row['status']} · {row['priority']}")
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
        line.append(f"\n      {_clip(row['message'], 80)}")
        console.print(line)


def _connector_for_case(application: App, case_id: int):  # type: ignore[no-untyped-def]
    with session_scope(application.engine) as session:
        case = cases.get_case(session, case_id)
        account = session.get(Account, case.account_id)
        assert account is not None
    return application.channels.get(account.name)


@app.command()
def approve(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id.")],
    text: Annotated[str | None, typer.Option(help="Send this instead of the draft.")] = None,
    force: Annotated[
        bool, typer.Option(help="Approve a reply the tone guard refuses (kept in the audit log).")
    ] = False,
) -> None:
    """Approve a case's reply (the draft, or --text); `send` or the daemon posts it."""
    application = _ctx(ctx).ready_app()
    connector = _connector_for_case(application, case)
    with session_scope(application.engine) as session:
        reply = cases.approve(session, case, current_user(), connector, text, guard=application.tone_guard, force=force)
        same = cases.repeats(session, reply)
    console.print(Text(f"case {case}: reply {reply.id} approved"))
    _warn_repeats(same)


def _warn_repeats(same: list[str]) -> None:
    if same:
        console.print(Text(f"note: same text as {', '.join(same[:3])}", style="yellow"))


@app.command()
def reject(
    ctx: typer.Context,
    case: Annotated[int, typer.Argument(help="Case id.")],
    reason: Annotated[str, typer.Option(help="Why no reply is sent (kept in the audit log).")],
) -> None:
    """Close a case without replying: spam, duplicate, answered elsewhere."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        cases.reject(session, case, current_user(), reason)
    console.print(Text(f"case {case} closed: {reason}"))


@app.command()
def wait(ctx: typer.Context, case: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Waiting on the customer: the case leaves the queue and its clock stops until they write again."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        cases.wait(session, case, current_user())
    console.print(Text(f"case {case} is waiting on the customer; it comes back when they write"))


@app.command()
def send(ctx: typer.Context) -> None:
    """Post every approved reply on its channel, in its thread."""
    application = _ctx(ctx).ready_app()
    result = application.send()
    console.print(
        Text(f"sent {result.sent}, failed {result.failed}, deferred {result.deferred}, recovered {result.recovered}")
    )
    if result.failed:
        raise typer.Exit(1)


@app.command()
def review(ctx: typer.Context) -> None:
    """Walk the open queue one case at a time: approve, edit in $EDITOR, skip, reject or quit."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        rows = cases.queue(session, QueueFilter())
        ids = [row["id"] for row in rows if row["reply_status"] == "draft" or row["suggestion"]]
    if not ids:
        console.print(Text("nothing to review"))
        return
    for position, case_id in enumerate(ids, 1):
        with session_scope(application.engine) as session:
            detail = cases.show(
                session, case_id, calendars=application.config.calendar_for, saved=application.saved_answers
            )
        console.rule(f"{position}/{len(ids)}")
        _render_case(detail, application.config)
        draft = next((r["text"] for r in reversed(detail["replies"]) if r["status"] == "draft"), None)
        if draft is None and not detail["suggestion"]:
            continue
        if not _review_one(application, case_id, draft or ""):
            return


def _review_one(application: App, case_id: int, draft: str) -> bool:
    """Returns False when the user quits."""
    text = draft
    while True:
        choice = typer.prompt("approve [a], edit [e], skip [s], reject [r], quit [q]", default="s").strip().lower()[:1]
        try:
            if choice == "a":
                connector = _connector_for_case(application, case_id)
                with session_scope(application.engine) as session:
                    reply = cases.approve(
                        session, case_id, current_user(), connector, text, guard=application.tone_guard
                    )
                    same = cases.repeats(session, reply)
                console.print(Text(f"case {case_id}: approved"))
                _warn_repeats(same)
                return True
            if choice == "e":
                text = _edit(text)
                console.print(Panel(Text(text), title="edited reply", title_align="left"))
                continue
            if choice == "r":
                reason = typer.prompt("reason")
                with session_scope(application.engine) as session:
                    cases.reject(session, case_id, current_user(), reason)
                console.print(Text(f"case {case_id}: closed ({reason})"))
                return True
            if choice == "q":
                return False
            if choice == "s":
                return True
        except UserError as err:
            say_error(str(err))
            continue
        say_error("type a, e, s, r or q")


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


@app.command()
def daemon(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run every job once and exit.")] = False,
) -> None:
    """Poll, classify, draft, send and watch deadlines, on the intervals in config."""
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
def doctor(ctx: typer.Context) -> None:
    """Check the store, the sentiment backend and every account; non-zero exit if anything is wrong."""
    context = _ctx(ctx)
    problems = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal problems
        problems += not ok
        line = Text("ok   " if ok else "FAIL ", style="green" if ok else "bold red")
        line.append(redact(f"{what}: {detail}"))
        console.print(line, soft_wrap=True)

    application = context.app
    failing: dict[str, Account] = {}
    try:
        application.check_store()
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
    if problems:
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
    head.append(f"  {detail['name'] or ''}")
    for identity in detail["identities"]:
        head.append(f"\n  identity {identity['id']}: {identity['platform']}:{identity['handle']}")
        for key in ("email", "phone"):
            if identity[key]:
                head.append(f"  {identity[key]}")
    if detail["followups_stopped_at"]:
        head.append("\nasked for no more follow-ups")
    console.print(Panel(head))
    _render_history(detail["history"], zone, now, "cases")
    for entry in detail["audit"]:
        console.print(
            Text(f"{_when(datetime.fromisoformat(entry['at']), zone, now)} {entry['actor']}: {entry['said']}")
        )


@customer_app.command("link")
def customer_link(ctx: typer.Context, first: Who, second: Who) -> None:
    """Make two identities one customer, with everyone already linked to either; their histories join."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        customer = customers.link(session, first, second, current_user())
        names = ", ".join(f"{i['platform']}:{i['handle']}" for i in customers.summary(session, customer)["identities"])
    console.print(Text(f"customer {customer.id}: {names}"))


@customer_app.command("unlink")
def customer_unlink(ctx: typer.Context, who: Who) -> None:
    """Split an identity out to a customer of its own; automatic linking leaves it alone from then on."""
    application = _ctx(ctx).ready_app()
    with session_scope(application.engine) as session:
        customer = customers.unlink(session, who, current_user())
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
    if not text.strip():
        raise UserError("the post is empty; give some --text")
    if not author.strip() or any(c.isspace() for c in author):
        raise UserError("--author must be a handle without spaces")
    connector = _sandbox(_ctx(ctx), account)
    sys.stdout.write(connector.post(author, text, name=name, reply_to=reply_to, email=email, phone=phone) + "\n")


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
    for thread in threads.values():
        for post in [thread, *thread["replies"]]:
            line = Text("  " if post["reply_to"] is not None else "")
            line.append(f"#{post['id']} ", style="dim")
            line.append(f"{_when(datetime.fromisoformat(post['created_at']), zone, now)} ", style="dim")
            line.append(f"@{post['author']}", style="cyan" if post["author"] == connector.settings.handle else "bold")
            line.append(f": {post['text']}")
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
    ids: dict[str, str] = {}
    for item in seed:
        reply_to = ids.get(item["reply_to"]) if item.get("reply_to") else None
        ids[item["key"]] = connector.post(item["author"], item["text"], name=item.get("name"), reply_to=reply_to)
    console.print(Text(f"posted {len(seed)} messages on the sandbox ({connector.settings.path})"))


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
        if not db.is_conflict(err):
            raise
        say_error("the case changed while you were working on it (the daemon, or a teammate): look again and retry")
        return 1
    return 0


def run() -> NoReturn:
    sys.exit(main())
