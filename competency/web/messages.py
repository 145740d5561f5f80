"""The message centre (every role) and the development mail outbox (platform admins)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from competency.models import Role
from competency.services import notify
from competency.web.authz import ALL_ROLES, roles_required, safe_next
from competency.web.pilot_forms import ActionForm

bp = Blueprint("messages", __name__)


@bp.route("/messages")
@roles_required(*ALL_ROLES)
def index():
    """The logged-in person's messages, newest first."""
    return render_template(
        "messages/index.html", messages=notify.messages_for(current_user), form=ActionForm()
    )


@bp.route("/messages/<int:message_id>/read", methods=["POST"])
@roles_required(*ALL_ROLES)
def read(message_id: int):
    """Mark one's own message read and follow its link."""
    if not ActionForm().validate_on_submit():
        abort(400)
    message = next((m for m in notify.messages_for(current_user) if m.id == message_id), None)
    if message is None or not notify.mark_read(current_user, message_id):
        abort(404)
    return redirect(safe_next(message.link) or url_for("messages.index"))


@bp.route("/admin/outbox")
@roles_required(Role.PLATFORM_ADMIN.value)
def outbox():
    """E-mail the development sender wrote instead of sending (MAIL_SENDER=outbox)."""
    return render_template("messages/outbox.html", mails=notify.outbox())


@bp.app_context_processor
def unread_messages() -> dict:
    """The unread count beside "Messages" in the navigation (one small query per page for people logged in)."""

    def count() -> int:
        return notify.unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_messages": count}
