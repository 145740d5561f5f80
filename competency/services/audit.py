"""The audit trail: who did what to what, and when."""

from __future__ import annotations

from competency.extensions import db
from competency.models import AuditEvent, User


def record(
    action: str,
    target_type: str,
    target_id: object | None = None,
    actor: User | None = None,
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits with its own change)."""
    event = AuditEvent(
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        actor_id=actor.id if actor is not None and actor.id is not None else None,
        detail=detail or {},
        ip=ip,
    )
    db.session.add(event)
    return event
