"""The options that pick cases, shared by ``queue`` (to look) and ``approve``/``reject --all-matching`` (to act).

One definition, so what ``queue --intent spam`` lists is exactly what ``reject --all-matching
--intent spam`` closes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sentiment.base import Intent
from socialcare.models import Priority

INTENTS = tuple(i.value for i in Intent)
PRIORITIES = tuple(p.value for p in Priority)


def _one_of(choices: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


IntentOption = Annotated[
    str | None, typer.Option(help=f"Newest message's intent: {', '.join(INTENTS)}.", callback=_one_of(INTENTS))
]
LanguageOption = Annotated[str | None, typer.Option(help="The case's language (en, it, ...).")]
PriorityOption = Annotated[str | None, typer.Option(help=f"{', '.join(PRIORITIES)}.", callback=_one_of(PRIORITIES))]
CustomerOption = Annotated[str | None, typer.Option(help="A handle (@ optional) or part of a display name.")]
ContainingOption = Annotated[str | None, typer.Option(help="Words in the customer's newest message.")]
ChannelOption = Annotated[str | None, typer.Option(help="An account name or a platform.")]
