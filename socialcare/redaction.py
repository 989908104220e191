"""Every secret this process has read is masked wherever text is kept or shown, whatever its origin.

Connectors mask their own secrets in the errors they raise; this is the net under them. An error
body that echoes our request headers, a vendor exception quoting a token, a log line built from
either: before such text reaches a log, the database (``last_error``), stderr, ``doctor`` or a
report, every known secret value in it — as given and percent-encoded, as OAuth 1.0a sends it — is
replaced by ``***``.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import quote

MASK = "***"
_MIN_LENGTH = 4
"""Shorter values (an empty password, "1") would mask ordinary words; no real secret is this short."""

_known: set[str] = set()
_lock = threading.Lock()


def remember(value: str) -> None:
    """Mask ``value`` from now on (called whenever a secret is read from the environment or a file)."""
    if len(value) < _MIN_LENGTH:
        return
    with _lock:
        _known.update({value, quote(value, safe="")})


def redact(text: str) -> str:
    with _lock:
        forms = sorted(_known, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats a record, its traceback included, then masks every known secret in the result.

    Times are UTC in ISO 8601 with the zone (``2026-12-02T06:39:03.875Z``): log lines from machines
    in different timezones, and from the daemon and the CLI, read on one clock.
    """

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
