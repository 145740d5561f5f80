"""The resource library: trainers and institution admins add, edit and retire learning resources and
import them from CSV/XLSX (all rows or none); plans link to them.

Who may change what: a platform admin every resource (the demo catalogue too); a trainer or an
institution admin the resources of their own institution. Everyone logged in sees platform-wide
resources and those of their institution.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import or_, select

from competency import graph
from competency.extensions import db
from competency.models import Resource, ResourceFile, Role, User, utcnow
from competency.services import audit, maps
from competency.services.errors import NotFound, ServiceError
from competency.services.resources import KINDS

EDITORS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value, Role.TRAINER.value)
MAX_FILE_BYTES = 15 * 1024 * 1024
MAX_IMPORT_ROWS = 2000
IMPORT_COLUMNS = ("title_zh", "title_en", "kind", "provider", "url", "hours", "nodes", "levels", "roles", "summary_zh", "summary_en")  # fmt: skip
REQUIRED_COLUMNS = ("title_zh", "kind", "nodes", "levels")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
# Files people may upload: documents, slides, sheets, images, audio/video, archives. Never HTML or
# scripts, which a browser would run on this site's origin.
ALLOWED_FILES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".doc": "application/msword",
    ".ppt": "application/vnd.ms-powerpoint",
    ".xls": "application/vnd.ms-excel",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".mp3": "audio/mpeg",
    ".zip": "application/zip",
    ".txt": "text/plain",
}


@dataclass
class ResourceInput:
    title_zh: str
    title_en: str
    kind: str
    provider: str = ""
    url: str | None = None
    hours: float = 0.0
    nodes: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    summary_zh: str = ""
    summary_en: str = ""


class ImportRejected(ServiceError):
    def __init__(self, errors: list[tuple[int, str, str]]):
        super().__init__(
            "import_rejected", _("Nothing was imported: %(n)d problems.", n=len(errors)), "file", status=400
        )
        self.errors = errors  # (row, field, message)


def can_edit(actor: User, resource: Resource) -> bool:
    if actor.role == Role.PLATFORM_ADMIN:
        return True
    return (
        actor.role in EDITORS
        and resource.institution_id is not None
        and resource.institution_id == actor.institution_id
    )


def visible(actor: User):
    """Resources the actor may see: platform-wide ones and their institution's."""
    if actor.role == Role.PLATFORM_ADMIN:
        return select(Resource)
    return select(Resource).where(
        or_(Resource.institution_id.is_(None), Resource.institution_id == actor.institution_id)
    )


def search(
    actor: User,
    query: str = "",
    kind: str = "",
    node: str = "",
    show: str = "active",
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Resource], int]:
    """One page of the library, filtered in the database; ``show``: active | retired | demo | own."""
    stmt = visible(actor)
    if show == "retired":
        stmt = stmt.where(Resource.retired_at.is_not(None))
    else:
        stmt = stmt.where(Resource.retired_at.is_(None))
    if show == "demo":
        stmt = stmt.where(Resource.demo.is_(True))
    elif show == "own":
        stmt = stmt.where(Resource.demo.is_(False))
    if kind in KINDS:
        stmt = stmt.where(Resource.kind == kind)
    text = query.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            Resource.title_zh.ilike(pattern, escape="\\")
            | Resource.title_en.ilike(pattern, escape="\\")
            | Resource.provider.ilike(pattern, escape="\\")
        )
    rows = db.session.scalars(stmt.order_by(Resource.demo, Resource.code)).all()
    if node:  # nodes are a JSON list: matched here, portable across SQLite and PostgreSQL
        rows = [r for r in rows if any(n == node or n.startswith(node + ".") for n in (r.nodes or []))]
    total = len(rows)
    start = (max(page, 1) - 1) * page_size
    return list(rows[start : start + page_size]), total


def get(actor: User, resource_id: int) -> Resource:
    row = db.session.scalar(visible(actor).where(Resource.id == resource_id))
    if row is None:
        raise NotFound("resource_not_found", _("resource not found"))
    return row


def _split(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[,，;；|\s]+", str(value)) if p.strip()]


def validate(data: ResourceInput, *, has_file: bool = False) -> list[tuple[str, str]]:
    """Problems as (field, message); empty when the resource can be saved."""
    problems: list[tuple[str, str]] = []
    if not data.title_zh.strip():
        problems.append(("title_zh", _("a Chinese title is required")))
    if len(data.title_zh) > 300 or len(data.title_en) > 300:
        problems.append(("title_zh", _("a title may have at most 300 characters")))
    if data.kind not in KINDS:
        problems.append(("kind", _("the type must be one of %(kinds)s", kinds=", ".join(KINDS))))
    if data.url and not URL_RE.match(data.url):
        problems.append(("url", _("the link must start with http:// or https://")))
    if data.url and len(data.url) > 500:
        problems.append(("url", _("the link may have at most 500 characters")))
    if not (0 <= data.hours <= 1000):
        problems.append(("hours", _("hours must be between 0 and 1000")))
    teacher, student = maps.teacher_map(), maps.student_indicators()
    if not data.nodes:
        problems.append(("nodes", _("name at least one indicator the resource serves")))
    scales = set()
    for code in data.nodes:
        if code in teacher:
            scales.add("teacher")
        elif code in student:
            scales.add("job")
        else:
            problems.append(("nodes", _("unknown indicator %(code)s", code=code)))
    if len(scales) > 1:
        problems.append(("nodes", _("a resource serves either teacher or student indicators, not both")))
    if not data.levels:
        problems.append(("levels", _("name at least one level the resource serves")))
    scale = graph.level_scale(scales.pop()) if len(scales) == 1 else None
    for level in data.levels:
        if scale is not None and level not in scale:
            problems.append(("levels", _("%(level)s is not a level of this scale (%(levels)s)", level=level, levels=", ".join(scale.codes))))  # fmt: skip
    known_roles = {p.code for p in graph.job_profiles()}
    for role in data.roles:
        if role not in known_roles:
            problems.append(("roles", _("unknown job role %(code)s", code=role)))
    return problems


def _apply(row: Resource, data: ResourceInput) -> None:
    row.title_zh = data.title_zh.strip()
    row.title_en = (data.title_en or data.title_zh).strip()
    row.kind = data.kind
    row.provider = data.provider.strip()
    row.url = data.url.strip() if data.url else None
    row.hours = round(float(data.hours), 1)
    row.nodes = list(dict.fromkeys(data.nodes))
    row.levels = list(dict.fromkeys(data.levels))
    row.roles = list(dict.fromkeys(data.roles))
    row.summary_zh = data.summary_zh.strip()
    row.summary_en = data.summary_en.strip()
    row.updated_at = utcnow()


def _new_code() -> str:
    return "R-U-" + secrets.token_hex(4).upper()


def _file_problem(name: str, data: bytes) -> str | None:
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if ext not in ALLOWED_FILES:
        return _(
            "this file type is not accepted; use one of %(types)s", types=" ".join(sorted(ALLOWED_FILES))
        )
    if len(data) > MAX_FILE_BYTES:
        return _("the file is larger than %(n)d MB", n=MAX_FILE_BYTES // (1024 * 1024))
    if not data:
        return _("the file is empty")
    return None


def save(
    actor: User,
    data: ResourceInput,
    resource: Resource | None = None,
    upload: tuple[str, bytes] | None = None,
    remove_file: bool = False,
) -> Resource:
    """Create (``resource`` None) or update a resource; one with neither link nor file is allowed but
    is marked "no link" wherever it is shown."""
    if actor.role not in EDITORS:
        raise ServiceError("forbidden", _("not allowed"), status=403)
    if resource is not None and not can_edit(actor, resource):
        raise ServiceError("forbidden", _("this resource belongs to another institution or to the demo catalogue"), status=403)  # fmt: skip
    problems = validate(data)
    if upload is not None:
        problem = _file_problem(*upload)
        if problem:
            problems.append(("file", problem))
    if problems:
        field_name, message = problems[0]
        raise ServiceError("invalid_resource", message, field_name)
    creating = resource is None
    if creating:
        resource = Resource(
            code=_new_code(),
            demo=False,
            institution_id=None if actor.role == Role.PLATFORM_ADMIN else actor.institution_id,
            created_by_id=actor.id,
        )
        db.session.add(resource)
    _apply(resource, data)
    if remove_file and resource.file is not None:
        resource.file = None
    if upload is not None:
        name, content = upload
        ext = "." + name.rsplit(".", 1)[-1].lower()
        resource.file = ResourceFile(
            name=name[-255:], mimetype=ALLOWED_FILES[ext], size=len(content), data=content
        )
    db.session.flush()
    audit.record("resource.create" if creating else "resource.edit", "resource", resource.code, actor=actor)
    db.session.commit()
    return resource


def set_retired(actor: User, resource: Resource, retired: bool) -> None:
    """Retired resources leave the library and new plans; plans that link to them keep the link."""
    if not can_edit(actor, resource):
        raise ServiceError("forbidden", _("this resource belongs to another institution or to the demo catalogue"), status=403)  # fmt: skip
    resource.retired_at = utcnow() if retired else None
    resource.updated_at = utcnow()
    audit.record("resource.retire" if retired else "resource.restore", "resource", resource.code, actor=actor)
    db.session.commit()


def file_of(actor: User, resource_id: int) -> ResourceFile:
    row = get(actor, resource_id)
    if row.file is None:
        raise NotFound("file_not_found", _("this resource has no file"))
    return row.file


# -- import -----------------------------------------------------------------------------------------
def _rows_from(filename: str, content: bytes) -> list[dict[str, object]]:
    name = filename.lower()
    if name.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected([(1, "file", _("the file is not UTF-8 text"))]) from exc
        return list(csv.DictReader(io.StringIO(text)))
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken workbook
            raise ImportRejected([(1, "file", _("not a readable XLSX workbook"))]) from exc
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
            out = []
            for values in rows:
                if values is None or all(v is None or str(v).strip() == "" for v in values):
                    continue
                out.append({h: v for h, v in zip(header, values, strict=False) if h})
            return out
        finally:
            book.close()
    raise ImportRejected([(1, "file", _("choose a CSV or XLSX file"))])


def import_file(actor: User, filename: str, content: bytes) -> int:
    """Add every row of a CSV/XLSX file as a resource, or none: the errors name the row and field."""
    if actor.role not in EDITORS:
        raise ServiceError("forbidden", _("not allowed"), status=403)
    rows = _rows_from(filename, content)
    errors: list[tuple[int, str, str]] = []
    if not rows:
        raise ImportRejected([(1, "file", _("the file has no rows below the header"))])
    header = set(rows[0].keys())
    for column in REQUIRED_COLUMNS:
        if column not in header:
            errors.append((1, column, _("the column %(name)s is missing", name=column)))
    if len(rows) > MAX_IMPORT_ROWS:
        errors.append((MAX_IMPORT_ROWS + 2, "file", _("at most %(n)d rows per file", n=MAX_IMPORT_ROWS)))
    if errors:
        raise ImportRejected(errors)
    parsed: list[ResourceInput] = []
    for number, raw in enumerate(rows, start=2):

        def text(key: str, raw: dict = raw) -> str:
            value = raw.get(key)
            return "" if value is None else str(value).strip()

        hours_text = text("hours") or "0"
        try:
            hours = float(hours_text)
        except ValueError:
            errors.append((number, "hours", _("%(value)s is not a number", value=hours_text)))
            hours = 0.0
        data = ResourceInput(
            title_zh=text("title_zh"),
            title_en=text("title_en"),
            kind=text("kind"),
            provider=text("provider"),
            url=text("url") or None,
            hours=hours,
            nodes=_split(raw.get("nodes")),
            levels=_split(raw.get("levels")),
            roles=_split(raw.get("roles")),
            summary_zh=text("summary_zh"),
            summary_en=text("summary_en"),
        )
        errors += [(number, f, m) for f, m in validate(data)]
        parsed.append(data)
    if errors:
        raise ImportRejected(errors)
    for data in parsed:
        row = Resource(
            code=_new_code(),
            demo=False,
            institution_id=None if actor.role == Role.PLATFORM_ADMIN else actor.institution_id,
            created_by_id=actor.id,
        )
        _apply(row, data)
        db.session.add(row)
    db.session.flush()
    audit.record(
        "resource.import", "resource", None, actor=actor, detail={"rows": len(parsed), "file": filename[:100]}
    )
    db.session.commit()
    return len(parsed)


def template_csv() -> bytes:
    example = {
        "title_zh": "校本微课：用学习平台发布分层作业",
        "title_en": "School micro-lecture: layered homework on the learning platform",
        "kind": "micro_lecture",
        "provider": "本校信息中心",
        "url": "https://example.edu.cn/courses/layered-homework",
        "hours": "0.5",
        "nodes": "T3.2.1 T3.2.2",
        "levels": "L2 L3",
        "roles": "",
        "summary_zh": "十分钟演示分层作业的发布与批改。",
        "summary_en": "Ten minutes showing how to publish and mark layered homework.",
    }
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=IMPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(example)
    return buf.getvalue().encode("utf-8-sig")
