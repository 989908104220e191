"""A corpus of hostile customer input: what real people, bots and attackers put in posts and display names.

Payloads (markup, template and format syntax, SQL, huge texts, undecodable bytes, lone surrogates,
NULs, bidi and zero-width characters, terminal escapes, emoji sequences, other scripts) are placed
where a customer controls text: the post itself, around a real question, the display name, the
handle. :func:`corpus` gives more than a thousand (handle, display name, text) triples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

INVALID_UTF8 = b"caf\xe9 \xff\xfe order \xc3\x28".decode("utf-8", "surrogateescape")

PAYLOADS: dict[str, str] = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(1)>",
    "svg": "</textarea><svg onload=alert(document.cookie)>",
    "entity": "&lt;b&gt; &amp; &#x3C;i&#x3E;",
    "comment": "<!-- --><style>body{display:none}</style>",
    "jinja": "{{7*7}}",
    "jinja-raw": "{% raw %}{{ config }}{% endraw %}",
    "jinja-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "jinja-os": "{{cycler.__init__.__globals__.os.popen('id').read()}}",
    "jinja-block": "{% for x in range(99999999) %}{{x}}{% endfor %}",
    "dollar": "${7*7} #{7*7} <%= 7*7 %>",
    "format": "%s%s%s%n %(name)s {0.__globals__} {name!r:>{width}}",
    "sql": "'; DROP TABLE message; --",
    "sql-or": '" OR 1=1 -- ',
    "sql-case": 'Robert\'); DROP TABLE "case";--',
    "invalid-utf8": INVALID_UTF8,
    "surrogate": "order \ud800 late",
    "surrogate-low": "a\udfffb",
    "nul": "a\x00b",
    "nul-only": "\x00",
    "rtl": "\u202eevil.exe\u202c please",
    "zero-width": "pay\u200bpal\u200c\u200d\ufeff",
    "isolate": "\u2066hidden\u2069 text",
    "ansi-clear": "\x1b[2J\x1b[H\x1b[31mRED",
    "osc-title": "\x1b]0;owned\x07",
    "osc8": "\x1b]8;;https://evil.example\x1b\\click me\x1b]8;;\x1b\\",
    "c1-csi": "\x9b31mred\x9b0m",
    "bell": "\x07\x08\x7f\x0b\x0c",
    "family": "👩‍👩‍👧‍👦",
    "flag": "🏳️‍🌈🇮🇹",
    "skin": "👍🏽👋🏿",
    "arabic": "مرحبا، أين طلبي؟",
    "hebrew": "שלום, איפה ההזמנה שלי",
    "cjk": "你好，我的订单在哪里？",
    "japanese": "こんにちは、注文はどこですか",
    "combining": "Z̴̡̪͕̓a̷̛͈͌l̸̢̈́g̵̨̈o̶͙̍",
    "newlines": "line one\n\n\nline four\r\nfive",
    "tabs": "\tindented\tcells\t",
    "blank": "   ",
    "url": "https://evil.example/?q=<script>&x=\"'",
    "markdown": "**bold** [link](javascript:alert(1)) `code`",
    "long-line": "where is my order " * 600,
}

HUGE: dict[str, str] = {
    "1mb": "x" * 1_000_000,
    "accents": "é" * 100_000,
    "emoji": "😀" * 50_000,
}

PLACES = (
    "alone",
    "question",
    "complaint",
    "praise",
    "name",
    "name-and-text",
    "handle",
    "reply",
)


class Item(NamedTuple):
    key: str
    handle: str
    name: str | None
    text: str
    reply: bool = False


def _letters(n: int) -> str:
    """A handle without digits, so no digit in a draft can come from anything but the payload."""
    word = ""
    while True:
        n, r = divmod(n, 26)
        word = chr(ord("a") + r) + word
        if n == 0:
            return word


def _place(place: str, payload: str, n: int) -> tuple[str, str | None, str, bool]:
    handle = f"customer{_letters(n)}"
    if place == "alone":
        return handle, None, payload, False
    if place == "question":
        return handle, None, f"Where is my order? {payload}", False
    if place == "complaint":
        return handle, None, f"{payload} This is a disgrace, I want a refund!", False
    if place == "praise":
        return handle, None, f"Thanks so much, love it! {payload}", False
    if place == "name":
        return handle, payload, "Do you ship to Malta?", False
    if place == "name-and-text":
        return handle, f"{payload} Smith", f"Hi, {payload}, my parcel is broken", False
    if place == "handle":
        return f"h{_letters(n)}{payload.replace(' ', '')[:200]}", None, "Is the Leeds store open?", False
    return handle, None, f"Still waiting. {payload}", True


def corpus() -> Iterator[Item]:
    n = 0
    for key, payload in PAYLOADS.items():
        for place in PLACES:
            for variant in range(3):  # the same payload again, doubled, and at the end of a longer post
                text = payload if variant == 0 else payload * 2 if variant == 1 else f"{'Hello team, ' * 5}{payload}"
                handle, name, body, reply = _place(place, text, n)
                n += 1
                yield Item(f"{key}/{place}/{variant}", handle, name, body, reply)
    for key, payload in HUGE.items():
        for place in ("alone", "name"):
            handle, name, body, reply = _place(place, payload, n)
            n += 1
            yield Item(f"{key}/{place}", handle, name, body, reply)
