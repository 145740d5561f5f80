"""Assessment definitions: what an assessment measures, the items that may serve it, the checks before
publication, and editing (drafts are edited; published ones are archived or duplicated)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import undefer

from competency import graph
from competency.extensions import db
from competency.irt.cat import EngineConfig
from competency.irt.cat.errors import CatError
from competency.models import Assessment, Item, ItemParams, User
from competency.services import audit, calibration_prior, maps
from competency.services.errors import ServiceError
from competency.services.items import current_params

KIND_SCALE = {"teacher_graded": "teacher", "student_literacy": "student", "job_skill": "job"}


def map_for(assessment: Assessment):
    """The capability map an assessment measures (shared, read-only)."""
    return maps.for_scale(assessment.scale)


def node_dimension(node: str, dimensions: Sequence[str], tree) -> str | None:
    """The dimension (an ancestor or the node itself) an item node reports to."""
    if node not in tree:
        return node if node in dimensions else None
    return next((code for code in maps.containers(tree, node) if code in dimensions), None)


def dimension_for(assessment: Assessment, node: str, tree) -> str | None:
    """The reporting dimension of an item node; a one-dimension test (a job role) takes every node."""
    if len(assessment.dimensions) == 1:
        return assessment.dimensions[0]
    return node_dimension(node, assessment.dimensions, tree)


def pool_rows(assessment: Assessment) -> list[tuple[Item, ItemParams]]:
    """The frozen pool: each item with the parameter version it is scored with."""
    codes = {entry["code"]: entry["version"] for entry in assessment.pool}
    rows = db.session.scalars(select(Item).where(Item.code.in_(codes))).all()
    out = []
    for row in sorted(rows, key=lambda r: r.code):
        version = next(v for v in row.versions if v.version == codes[row.code])
        out.append((row, version))
    return out


def candidate_items(assessment: Assessment) -> list[tuple[Item, ItemParams]]:
    """Operational (and pilot) items measuring the assessment's nodes, at their current parameters."""
    tree = map_for(assessment)
    wanted = set()
    for code in assessment.nodes:
        if code not in tree:
            raise ServiceError("unknown_node", _("unknown map node %(code)s", code=code), "nodes")
        wanted.add(code)
        wanted.update(_descendants(tree, code))
    rows = db.session.scalars(
        select(Item)
        .where(Item.node.in_(wanted), Item.status.in_(("operational", "pilot")))
        .order_by(Item.code)
    ).all()
    return [
        (row, current_params(row))
        for row in rows
        if current_params(row) is not None and _serves_role(assessment, row)
    ]


def _serves_role(assessment: Assessment, item: Item) -> bool:
    """An item tagged with job roles belongs only to those roles' job evaluations; the general student
    literacy evaluation leaves role-specific items out."""
    roles = (item.content or {}).get("roles") or []
    if not roles:
        return True
    return assessment.kind == "job_skill" and assessment.role_code in roles


def _descendants(tree, code: str) -> set[str]:
    out, stack = set(), [code]
    while stack:
        node = stack.pop()
        for _p, child, rel in tree.out_edges(node, data="relation"):
            if rel == "contains" and child not in out:
                out.add(child)
                stack.append(child)
    return out


def engine_config(assessment: Assessment) -> EngineConfig:
    try:
        return EngineConfig.from_dict(dict(assessment.engine))
    except (CatError, TypeError, ValueError) as exc:
        raise ServiceError("invalid_engine", str(exc), "engine") from exc


def check_definition(assessment: Assessment, rows: Sequence[tuple[Item, ItemParams]]) -> list[str]:
    """Problems that stop publication, each naming its field."""
    problems = []
    scale = graph.level_scale(assessment.scale)
    tree = map_for(assessment)
    if assessment.kind not in KIND_SCALE or KIND_SCALE[assessment.kind] != assessment.scale:
        problems.append(
            f"kind/scale: {assessment.kind} is graded on the {KIND_SCALE.get(assessment.kind)} scale"
        )
    if assessment.kind == "job_skill":
        try:
            graph.job_profile(assessment.role_code or "")
        except KeyError:
            problems.append(f"role_code: unknown job role {assessment.role_code!r}")
    for dim in assessment.dimensions:
        if dim not in tree and not (assessment.kind == "job_skill" and dim == assessment.role_code):
            problems.append(f"dimensions: unknown node {dim}")
    cuts = assessment.cut_scores or {}
    for dim in assessment.dimensions:
        dim_cuts = cuts.get(dim, cuts.get("*"))
        if dim_cuts is None:
            problems.append(f"cut_scores.{dim}: missing")
        elif len(dim_cuts) != len(scale) - 1 or any(
            b <= a for a, b in zip(dim_cuts, dim_cuts[1:], strict=False)
        ):
            problems.append(f"cut_scores.{dim}: need {len(scale) - 1} increasing θ cuts")
    try:
        cfg = engine_config(assessment)
    except ServiceError as exc:
        return [*problems, f"engine: {exc.message}"]
    operational = [(i, p) for i, p in rows if i.status == "operational"]
    if len(operational) < cfg.min_items:
        problems.append(f"pool: {len(operational)} operational items, fewer than min_items {cfg.min_items}")
    by_dim: dict[str, int] = {}
    by_node: dict[str, int] = {}
    for item, _p in operational:
        dim = dimension_for(assessment, item.node, tree) or "?"
        by_dim[dim] = by_dim.get(dim, 0) + 1
        by_node[item.node] = by_node.get(item.node, 0) + 1
    for dim in assessment.dimensions:
        if not by_dim.get(dim):
            problems.append(f"pool: no operational item measures dimension {dim}")
    counts = by_dim if cfg.content_by == "dimension" else by_node
    for code, minimum in cfg.content_min.items():
        if counts.get(code, 0) < minimum:
            problems.append(
                f"engine.content_min.{code}: needs {minimum} items, the pool has {counts.get(code, 0)}"
            )
    if sum(cfg.content_min.values()) > cfg.max_items:
        problems.append("engine.content_min: the minimum counts add up to more than max_items")
    if cfg.pilot_positions and not any(i.status == "pilot" for i, _ in rows):
        problems.append("engine.pilot_positions: the pool has no pilot items")
    return problems


# ---------------------------------------------------------------------------- editing


def can_manage(actor: User, assessment: Assessment) -> bool:
    """Platform admins manage every assessment; institution admins and trainers their institution's."""
    if actor.role == "platform_admin":
        return True
    return (
        actor.role in ("institution_admin", "trainer") and assessment.institution_id == actor.institution_id
    )


def visible_to(actor: User, assessment: Assessment) -> bool:
    """Staff see platform-wide assessments and their institution's; platform admins see every one."""
    return actor.role == "platform_admin" or assessment.institution_id in (None, actor.institution_id)


def visible_to_manager(actor: User) -> list[Assessment]:
    stmt = select(Assessment).options(undefer(Assessment.pool)).order_by(Assessment.id.desc())
    if actor.role != "platform_admin":
        stmt = stmt.where(
            Assessment.institution_id.is_(None) | (Assessment.institution_id == actor.institution_id)
        )
    return list(db.session.scalars(stmt))


def _prior(assessment: Assessment, values: dict):
    """No correlation typed: a draft keeps the calibrated matrix it has (editing must not replace it with a
    number nobody typed); otherwise the latest published calibration's, the provisional ρ before any."""
    current = (assessment.engine or {}).get("prior_correlation")
    if isinstance(current, list):
        return current
    return calibration_prior.prior_for(list(values.get("dimensions") or assessment.dimensions or []))


def save_definition(assessment: Assessment | None, values: dict, actor: User) -> Assessment:
    """Create or update a draft; published or archived definitions are frozen (duplicate them instead)."""
    if assessment is not None and assessment.status != "draft":
        raise ServiceError(
            "not_draft", _("only a draft can be edited; duplicate it to make changes"), "status"
        )
    code = (values.get("code") or "").strip()
    clash = db.session.scalar(select(Assessment.id).where(Assessment.code == code))
    if not code:
        raise ServiceError("missing_field", _("%(field)s is required", field="code"), "code")
    if clash is not None and (assessment is None or clash != assessment.id):
        raise ServiceError("duplicate_code", _("an assessment with code %(code)s exists", code=code), "code")
    if assessment is None:
        assessment = Assessment(created_by_id=actor.id, status="draft")
        if actor.role != "platform_admin":
            assessment.institution_id = actor.institution_id
        db.session.add(assessment)
    engine = values.get("engine")
    if isinstance(engine, dict) and engine.get("mcat") and engine.get("prior_correlation") is None:
        values = {**values, "engine": {**engine, "prior_correlation": _prior(assessment, values)}}
    for key, value in values.items():
        setattr(assessment, key, value)
    db.session.flush()
    audit.record("assessment.save", "assessment", assessment.id, actor=actor)
    db.session.commit()
    return assessment


def archive(assessment: Assessment, actor: User) -> None:
    if assessment.status != "published":
        raise ServiceError("not_published", _("only a published assessment can be archived"), "status")
    assessment.status = "archived"
    audit.record("assessment.archive", "assessment", assessment.id, actor=actor)
    db.session.commit()


def duplicate(assessment: Assessment, actor: User) -> Assessment:
    """A new draft with the same definition, for changing a published assessment, in one transaction.

    A platform admin's copy stays where the original is; anyone else's belongs to their institution.
    """
    base = f"{assessment.code}-v"
    n = 2
    while db.session.scalar(select(Assessment.id).where(Assessment.code == f"{base}{n}")) is not None:
        n += 1
    columns = (
        "title_zh",
        "title_en",
        "description_zh",
        "description_en",
        "kind",
        "role_code",
        "scale",
        "dimensions",
        "nodes",
        "engine",
        "cut_scores",
        "grade_rule",
        "certificate_rule",
        "time_limit_minutes",
        "max_attempts",
        "wait_hours",
        "opens_at",
        "closes_at",
        "audience",
    )
    copy = Assessment(
        code=f"{base}{n}",
        status="draft",
        created_by_id=actor.id,
        institution_id=assessment.institution_id if actor.role == "platform_admin" else actor.institution_id,
        **{c: getattr(assessment, c) for c in columns},
    )
    db.session.add(copy)
    db.session.flush()
    audit.record("assessment.duplicate", "assessment", copy.id, actor=actor, detail={"from": assessment.id})
    db.session.commit()
    return copy
