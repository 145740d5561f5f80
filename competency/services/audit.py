"""The audit trail: who did what to what, and when."""

from __future__ import annotations

from sqlalchemy import bindparam, insert

from competency.extensions import db
from competency.models import AuditEvent, User, utcnow
from competency.services.precompiled import Precompiled

_EVENTS = AuditEvent.__table__
# Written at once, on the session's connection, instead of through the unit of work: an event is
# never read back or changed in the transaction that records it, and a flush of one new object
# costs several times the INSERT itself (it was a second flush on every attempt start and grade).
_INSERT = Precompiled(
    insert(_EVENTS).values(
        {
            column.name: bindparam(column.name, type_=column.type)
            for column in _EVENTS.c
            if column.name != "id"
        }
    )
)


def record(
    action: str,
    target_type: str,
    target_id: object | None = None,
    actor: User | None = None,
    detail: dict | None = None,
    ip: str | None = None,
) -> None:
    """Write an audit event in the current transaction: it is kept when the caller commits its own
    change, and gone when the caller rolls back."""
    _INSERT.rowcount(
        db.session.connection(),
        {
            "at": utcnow(),
            "actor_id": actor.id if actor is not None and actor.id is not None else None,
            "action": action,
            "target_type": target_type,
            "target_id": None if target_id is None else str(target_id),
            "detail": detail or {},
            "ip": ip,
        },
    )
