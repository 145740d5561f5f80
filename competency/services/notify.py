"""Notifications: a message in the platform's message centre, and an e-mail through a pluggable sender.

The sender is chosen by the `MAIL_SENDER` setting: "outbox" (the default) writes each mail to the
outbox table in the same transaction, which the platform admin reads at /admin/outbox, so nothing
external is needed to run; "smtp" hands mail to `MAIL_SMTP_HOST` after the transaction commits (a
rolled-back change sends nothing); "package.module:attribute" names any object with the same
`deliver(to, subject, body)` method.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from importlib import import_module

from flask import current_app
from sqlalchemy import event, func, select

from competency.extensions import db
from competency.models import Message, OutboxMail, User, utcnow


class OutboxSender:
    def deliver(self, to: str, subject: str, body: str) -> None:
        db.session.add(OutboxMail(to_address=to, subject=subject[:200], body=body))


class SmtpSender:
    def deliver(self, to: str, subject: str, body: str) -> None:
        mail = EmailMessage()
        mail["From"] = current_app.config.get("MAIL_FROM", "competency@localhost")
        mail["To"] = to
        mail["Subject"] = subject
        mail.set_content(body)
        host = current_app.config["MAIL_SMTP_HOST"]
        port = int(current_app.config.get("MAIL_SMTP_PORT", 25))
        session = db.session()
        session.connection()  # begin the transaction whose commit or rollback decides the mail's fate
        if not session.info.get("mail_hooks"):
            # SMTP mail leaves only after the change it reports is committed.
            event.listen(session, "after_commit", _send_pending)
            # Soft rollback: fires on every rollback() call, even when no statement had begun a transaction.
            event.listen(session, "after_soft_rollback", _drop_pending)
            session.info["mail_hooks"] = True
        session.info.setdefault("pending_mail", []).append((host, port, mail))


def _send_pending(session) -> None:
    for host, port, mail in session.info.pop("pending_mail", []):
        try:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.send_message(mail)
        except OSError:
            current_app.logger.exception("could not send mail to %s", mail["To"])


def _drop_pending(session, _previous_transaction=None) -> None:
    session.info.pop("pending_mail", None)


def sender():
    name = current_app.config.get("MAIL_SENDER", "outbox")
    if name == "outbox":
        return OutboxSender()
    if name == "smtp":
        return SmtpSender()
    module, _, attribute = name.partition(":")
    return getattr(import_module(module), attribute)


def notify(users: list[User], subject: str, body: str, link: str = "", emails: list[str] = ()) -> None:
    """A message to each user in the message centre, and the same text by e-mail to each address."""
    for person in users:
        db.session.add(Message(user_id=person.id, subject=subject[:200], body=body, link=link[:300]))
    mail = sender()
    for address in dict.fromkeys(a for a in emails if a):
        mail.deliver(address, subject, body)


def messages_for(user: User) -> list[Message]:
    return list(
        db.session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id.desc()))
    )


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Message).where(Message.user_id == user.id, Message.read_at.is_(None))
    )


def mark_read(user: User, message_id: int) -> bool:
    message = db.session.get(Message, message_id)
    if message is None or message.user_id != user.id:
        return False
    if message.read_at is None:
        message.read_at = utcnow()
        db.session.commit()
    return True


def outbox(limit: int = 200) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)))
