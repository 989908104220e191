"""Email through the team's SMTP server: the daily report, spike alerts, and any other mail the product sends.

One function, :func:`send_mail`: a plain-text part always (what every client can show), an HTML
alternative when given, and PNG images attached to the HTML as ``cid:`` parts. The password comes
from ``SOCIALCARE_SMTP_PASSWORD`` or the secrets file's ``[smtp]`` table, never from the config, and
never appears in an error or a log line.
"""

from __future__ import annotations

import smtplib
import ssl
from base64 import b64encode
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from socialcare.config import Config, SmtpConfig
from socialcare.errors import UserError


class MailError(UserError):
    """The mail could not be handed to the server; the message says why, without any secret."""


def compose(
    smtp: SmtpConfig,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    images: Mapping[str, bytes] | None = None,
    to: Sequence[str] | None = None,
) -> EmailMessage:
    """The message as it will be sent: text, then HTML with its images as related parts.

    ``images`` maps a Content-ID to PNG bytes; the HTML refers to each as ``cid:<that id>``.
    """
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender or ""
    message["To"] = ", ".join(to or smtp.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=(smtp.sender or "socialcare@localhost").rpartition("@")[2])
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[1]
        for cid, png in (images or {}).items():
            html_part.add_related(png, "image", "png", cid=f"<{cid}>", filename=f"{cid.split('@')[0]}.png")
    elif images:
        raise ValueError("images are shown inside the HTML part: pass html too")
    return message


def send_mail(
    config: Config,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    images: Mapping[str, bytes] | None = None,
    to: Sequence[str] | None = None,
) -> str:
    """Send one message to ``to`` (default: ``[smtp] to``); returns its Message-ID.

    Raises :class:`MailError` when the server cannot be reached, refuses the login or refuses every
    recipient. A recipient refused among others that were accepted is not an error (the others got it).
    """
    smtp = config.smtp
    if not smtp.ready:
        raise MailError("sending mail needs [smtp] with host, from and to in the config")
    message = compose(smtp, subject, text, html=html, images=images, to=to)
    secret = config.secrets_for("smtp", ("password",)).get("password")
    password = secret.get_secret_value() if secret is not None else None
    if smtp.user and password is None:
        raise MailError(
            "[smtp] user is set but there is no password: "
            "set SOCIALCARE_SMTP_PASSWORD or [smtp] password in the secrets file"
        )
    where = f"{smtp.host}:{smtp.port_in_use}"
    try:
        with _connect(smtp) as client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user and password is not None:
                client.login(smtp.user, password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as err:
        raise MailError(f"the mail server {where} refused the login of {smtp.user!r} ({err.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused:
        raise MailError(f"the mail server {where} refused every recipient ({', '.join(to or smtp.to)})") from None
    except smtplib.SMTPNotSupportedError as err:
        raise MailError(
            f"the mail server {where} does not support this ({_scrub(str(err), password)}); check [smtp] security"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
        raise MailError(
            f"cannot send mail through {where}: {_scrub(str(err) or type(err).__name__, password)}"
        ) from None
    return str(message["Message-ID"])


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    assert smtp.host is not None
    timeout = smtp.timeout.total_seconds()
    if smtp.security == "ssl":
        return smtplib.SMTP_SSL(smtp.host, smtp.port_in_use, timeout=timeout, context=ssl.create_default_context())
    return smtplib.SMTP(smtp.host, smtp.port_in_use, timeout=timeout)


def _scrub(text: str, password: str | None) -> str:
    """A server that echoes what it was sent must not carry our password into an error line."""
    if not password:
        return text
    for form in (password, b64encode(password.encode()).decode()):
        text = text.replace(form, "***")
    return text
