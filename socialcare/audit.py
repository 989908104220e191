"""Every change to a case or reply is written down with who made it."""

from __future__ import annotations

import getpass
from typing import Any

from sqlmodel import Session

from socialcare.models import AuditLog, Case, Reply


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    case: Case | None = None,
    reply: Reply | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            case_id=case.id if case is not None else (reply.case_id if reply is not None else None),
            reply_id=reply.id if reply is not None else None,
            detail=detail or {},
        )
    )
