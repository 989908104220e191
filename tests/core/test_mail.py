"""Mail goes through a real SMTP server (aiosmtpd, started here): parts, images, login, and errors that never
carry the password."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from socialcare import config as configuration
from socialcare.mail import MailError, send_mail

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

PASSWORD = "pa55-w0rd!"


class SmtpServer:
    """An SMTP server on a free local port that keeps every message it accepts (and checks a login if asked)."""

    def __init__(self, user: str | None = None) -> None:
        self.user = user
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate if user else None,
            auth_require_tls=False,
            auth_required=bool(user),
        )

    def _authenticate(self, _server, _session, _envelope, _mechanism, data) -> AuthResult:  # type: ignore[no-untyped-def]
        ok = isinstance(data, LoginPassword) and data.login.decode() == self.user and data.password.decode() == PASSWORD
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    async def handle_DATA(self, _server, _session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def smtp_toml(self, **extra: str) -> str:
        lines = ["[smtp]", 'host = "127.0.0.1"', f"port = {self.port}", 'security = "none"']
        lines += ['from = "care@acme.example"', 'to = ["lead@acme.example", "team@acme.example"]']
        if self.user:
            lines.append(f'user = "{self.user}"')
        lines += [f"{key} = {value}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(user="care") as running:
        yield running


def config_for(tmp_path: Path, smtp: str, secrets: str | None = None) -> configuration.Config:
    path = tmp_path / "socialcare.toml"
    text = f'database_url = "sqlite:///{tmp_path / "s.db"}"\n'
    if secrets is not None:
        (tmp_path / "secrets.toml").write_text(secrets, encoding="utf-8")
        (tmp_path / "secrets.toml").chmod(0o600)
        text += 'secrets_file = "secrets.toml"\n'
    path.write_text(text + smtp, encoding="utf-8")
    return configuration.load(path)


def parts(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        if not part.is_multipart():
            found.setdefault(part.get_content_type(), []).append(part)
    return found


def test_text_html_and_images_arrive_as_parts(server: SmtpServer, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOCIALCARE_SMTP_PASSWORD", PASSWORD)
    config = config_for(tmp_path, server.smtp_toml())
    png = b"\x89PNG\r\n\x1a\nnot really"
    message_id = send_mail(
        config,
        "Daily report",
        "plain words",
        html='<p>chart: <img src="cid:volume@socialcare"></p>',
        images={"volume@socialcare": png},
    )
    [(sender, recipients, message)] = server.received
    assert sender == "care@acme.example" and recipients == ["lead@acme.example", "team@acme.example"]
    assert message["Subject"] == "Daily report" and message["Message-ID"] == message_id
    found = parts(message)
    assert found["text/plain"][0].get_content().strip() == "plain words"
    assert 'src="cid:volume@socialcare"' in found["text/html"][0].get_content()
    [image] = found["image/png"]
    assert image["Content-ID"] == "<volume@socialcare>" and image.get_content() == png
    assert message.get_content_type() == "multipart/alternative"


def test_the_password_can_come_from_the_secrets_file_and_to_can_be_given(server: SmtpServer, tmp_path: Path) -> None:
    config = config_for(tmp_path, server.smtp_toml(), secrets=f'[smtp]\npassword = "{PASSWORD}"\n')
    send_mail(config, "Escalation", "case 7 is late", to=["boss@acme.example"])
    [(_, recipients, message)] = server.received
    assert recipients == ["boss@acme.example"] and message.get_content_type() == "text/plain"


def test_a_refused_login_is_one_line_without_the_password(
    server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SOCIALCARE_SMTP_PASSWORD", "wrong-" + PASSWORD)
    config = config_for(tmp_path, server.smtp_toml())
    with pytest.raises(MailError) as refused:
        send_mail(config, "x", "y")
    assert "refused the login of 'care' (535)" in str(refused.value)
    assert "\n" not in str(refused.value) and PASSWORD not in str(refused.value) and PASSWORD not in caplog.text
    assert refused.value.__cause__ is None and server.received == []


def test_missing_password_unreachable_server_and_unready_config_are_one_line(tmp_path: Path) -> None:
    with SmtpServer(user="care") as server:
        config = config_for(tmp_path, server.smtp_toml())
        with pytest.raises(MailError, match="no password: set SOCIALCARE_SMTP_PASSWORD"):
            send_mail(config, "x", "y")
    closed = config_for(tmp_path, server.smtp_toml(timeout='"2s"').replace('user = "care"\n', ""))
    with pytest.raises(MailError, match=f"cannot send mail through 127.0.0.1:{server.port}: "):
        send_mail(closed, "x", "y")
    with pytest.raises(MailError, match=r"needs \[smtp\] with host, from and to"):
        send_mail(config_for(tmp_path, ""), "x", "y")


def test_smtp_settings_are_checked_when_the_config_loads(tmp_path: Path) -> None:
    for smtp, message in (
        ('[smtp]\nto = ["not an address"]\n', "smtp.to.0: 'not an address' is not an email address"),
        ('[smtp]\nsecurity = "tls"\n', "smtp.security"),
        ("[report]\ndaily = true\n", "report.daily = true needs [smtp] with host, from and to"),
        ('[report]\nsend_at = "8am"\n', "report.send_at: '8am' is not a time of day"),
    ):
        with pytest.raises(configuration.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            config_for(tmp_path, smtp)
    ports = {
        s: config_for(tmp_path, f'[smtp]\nsecurity = "{s}"\n').smtp.port_in_use for s in ("ssl", "starttls", "none")
    }
    assert ports == {"ssl": 465, "starttls": 587, "none": 25}
