"""An application's attachments (the stamped scan, supporting documents): upload while the application
may change, removal, and download for the people who may see the application.

The files themselves are checked and stored by `pilot_files`; a row and its file live and die together.
"""

from __future__ import annotations

from flask_babel import gettext as _

from competency.extensions import db
from competency.models import PilotApplication, PilotAttachment, User
from competency.services import audit, pilot_files
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_applications import require_editable
from competency.services.pilot_form import ATTACHMENT_KINDS


def add_attachment(
    application: PilotApplication, kind: str, filename: str, data: bytes, actor: User
) -> PilotAttachment:
    require_editable(application)
    if kind not in ATTACHMENT_KINDS:
        raise ServiceError("kind", _("Choose what kind of document this is."), "kind")
    file_type = pilot_files.check(data, filename, kind)
    name, digest = pilot_files.store(data)
    attachment = PilotAttachment(
        application_id=application.id,
        kind=kind,
        filename=(filename or "attachment").replace("/", "_").replace("\\", "_")[:200],
        file_type=file_type,
        size=len(data),
        sha256=digest,
        storage_name=name,
        uploaded_by=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(
        "pilot_attachment.add",
        "pilot_application",
        application.id,
        actor,
        {
            "before": None,
            "after": {"attachment": attachment.id, "kind": kind, "sha256": digest, "size": len(data)},
        },
    )
    try:
        db.session.commit()
    except Exception:
        pilot_files.remove(name)  # the row is gone, so is the file
        raise
    return attachment


def remove_attachment(application: PilotApplication, attachment_id: int, actor: User) -> None:
    require_editable(application)
    attachment = next((a for a in application.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise NotFound("not_found", _("No such attachment."))
    audit.record(
        "pilot_attachment.remove",
        "pilot_application",
        application.id,
        actor,
        {"before": {"attachment": attachment.id, "sha256": attachment.sha256}, "after": None},
    )
    storage = attachment.storage_name
    db.session.delete(attachment)
    db.session.commit()
    pilot_files.remove(storage)


def attachment_for(application: PilotApplication, attachment_id: int) -> PilotAttachment:
    attachment = next((a for a in application.attachments if a.id == attachment_id), None)
    if attachment is None or not pilot_files.path_of(attachment.storage_name).is_file():
        raise NotFound("not_found", _("No such attachment."))
    return attachment
