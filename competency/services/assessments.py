"""Assessment definitions: validation, the frozen item pool, the engine's bank, publishing with a simulation."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import undefer

from competency import graph
from competency.extensions import db
from competency.irt import classification
from competency.irt.cat import Bank, Engine, EngineConfig
from competency.irt.cat import simulate as run_simulation
from competency.irt.cat.errors import CatError
from competency.irt.items import ItemSet, item_set
from competency.models import (
    Assessment,
    CohortAssignment,
    CohortMembership,
    Item,
    ItemParams,
    Role,
    User,
    utcnow,
)
from competency.services import audit, calibration_prior, grading, maps
from competency.services.errors import ServiceError
from competency.services.items import current_params, to_schema
from competency.tests_bank import schema
from competency.tests_bank.delivery import delivery_payload

KIND_SCALE = {"teacher_graded": "teacher", "student_literacy": "student", "job_skill": "job"}
# The minimum simulated accuracy of the reported classes, unless grade_rule["min_accuracy"] says otherwise.
DEFAULT_MIN_ACCURACY = {"dimensions": 0.8, "overall": 0.85}


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


def bank_items(assessment: Assessment, rows: Sequence[tuple[Item, ItemParams]]) -> list[dict]:
    tree = map_for(assessment)
    out = []
    for item, params in rows:
        dim = dimension_for(assessment, item.node, tree)
        out.append(
            {
                "id": item.code,
                "model": params.model,
                "a": params.a,
                "b": params.b,
                "c": params.c,
                "thresholds": params.thresholds,
                "content": item.node,
                "dimension": dim if len(assessment.dimensions) > 1 else 0,
                "pilot": item.status == "pilot",
                "enemies": item.content.get("enemies") or [],
            }
        )
    return out


# Everything derived from a frozen pool never changes, so each process may keep it: the key is the
# assessment and its publication time, and republishing (a new pool) gets a new key. Attempt state is
# never cached. Answering looks these up by key (Attempt.assessment_published_at) without loading the
# assessment row; only a miss loads it.
CACHE_LIMIT = 64


def published_key(assessment_id: int, published_at: datetime | None) -> tuple[int, str]:
    return assessment_id, published_at.isoformat() if published_at else ""


def _remember(cache: dict, key, value):
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _assessment(assessment_id: int, given: Assessment | None) -> Assessment:
    return given if given is not None else db.session.get_one(Assessment, assessment_id)


_BANKS: dict[tuple, Bank] = {}


def engine_bank(assessment: Assessment) -> Bank:
    key = published_key(assessment.id, assessment.published_at)
    bank = _BANKS.get(key)
    if bank is None:
        bank = _remember(_BANKS, key, Bank.from_items(bank_items(assessment, pool_rows(assessment))))
    return bank


@dataclass(frozen=True)
class PoolItem:
    """A pool item as scored in this assessment: the authored item at its frozen parameter version.

    `payload` is what a taker is shown of it (tests_bank.delivery, position 0), built once because the
    item never changes in this pool; it is shared, so callers copy it before changing anything.
    """

    item: schema.Item
    version: int
    node: str
    dimension: str | None
    pilot: bool
    payload: dict


_POOLS: dict[tuple, dict[str, PoolItem]] = {}


def pool_items(assessment: Assessment) -> dict[str, PoolItem]:
    """Item code → PoolItem for a published assessment (cached per process: the pool never changes)."""
    return published_pool(assessment.id, assessment.published_at, assessment)


def published_pool(
    assessment_id: int, published_at: datetime | None, assessment: Assessment | None = None
) -> dict[str, PoolItem]:
    """The pool by key; the assessment row is loaded only when this process has not built it yet."""
    pool = _POOLS.get(published_key(assessment_id, published_at))
    if pool is not None:
        return pool
    assessment = _assessment(assessment_id, assessment)
    key = published_key(assessment.id, assessment.published_at)
    rows = pool_rows(assessment)
    if key not in _BANKS:  # the engine's bank comes from the same rows: read them once
        _remember(_BANKS, key, Bank.from_items(bank_items(assessment, rows)))
    tree = map_for(assessment)
    pool = {}
    for row, params in rows:
        item = to_schema(row, params)
        dimension = dimension_for(assessment, row.node, tree)
        pool[row.code] = PoolItem(
            item=item,
            version=params.version,
            node=row.node,
            dimension=dimension,
            pilot=row.status == "pilot",
            payload=delivery_payload(item, 0, dimension or ""),
        )
    return _remember(_POOLS, key, pool)


@dataclass(frozen=True)
class ScoringItems:
    """One dimension's scored pool items as an ItemSet, for grading's per-indicator estimates."""

    column: dict[str, int]  # item code → its column in `items`
    items: ItemSet


_SCORING: dict[tuple, dict[str | None, ScoringItems]] = {}


def scoring_items(assessment: Assessment) -> dict[str | None, ScoringItems]:
    """Dimension → its operational pool items, at their frozen parameters (cached like the pool)."""
    key = published_key(assessment.id, assessment.published_at)
    cached = _SCORING.get(key)
    if cached is not None:
        return cached
    by_dim: dict[str | None, list[str]] = {}
    pool = pool_items(assessment)
    for code, entry in pool.items():
        if not entry.pilot:
            by_dim.setdefault(entry.dimension, []).append(code)
    out = {}
    for dim, codes in by_dim.items():
        params = [pool[code].item.irt for code in codes]
        width = max((len(p.thresholds or []) for p in params), default=0)
        arrays = {
            "a": [p.a for p in params],
            "b": [math.nan if p.b is None else p.b for p in params],
            "c": [p.c or 0.0 for p in params],
        }
        if width:
            arrays["thresholds"] = [
                list(p.thresholds or []) + [math.nan] * (width - len(p.thresholds or [])) for p in params
            ]
        items = item_set(arrays, model=[str(p.model) for p in params])
        out[dim] = ScoringItems({code: column for column, code in enumerate(codes)}, items)
    return _remember(_SCORING, key, out)


_ENGINES: dict[tuple, Engine] = {}


def engine_for(assessment: Assessment, config: dict) -> Engine:
    """The engine for a published pool and settings; engines keep no attempt state, so they are shared."""
    return published_engine(assessment.id, assessment.published_at, config, assessment)


_CANONICAL_SETTINGS: dict[str, str] = {}


def _settings_key(config: dict | str) -> str:
    """Engine settings as canonical JSON text, the engine cache's key.

    Answering passes the attempt's settings as the JSON text it stored, unparsed: each distinct text
    is made canonical once per process, so both forms find the same engine.
    """
    if not isinstance(config, str):
        return json.dumps(config, sort_keys=True)
    key = _CANONICAL_SETTINGS.get(config)
    if key is None:
        key = _remember(_CANONICAL_SETTINGS, config, json.dumps(json.loads(config), sort_keys=True))
    return key


def published_engine(
    assessment_id: int,
    published_at: datetime | None,
    config: dict | str,
    assessment: Assessment | None = None,
) -> Engine:
    """The engine by key; `config` is the settings, or their JSON text as an attempt stored them."""
    settings = _settings_key(config)
    engine = _ENGINES.get((*published_key(assessment_id, published_at), settings))
    if engine is None:
        assessment = _assessment(assessment_id, assessment)
        key = (*published_key(assessment.id, assessment.published_at), settings)
        engine = _remember(_ENGINES, key, Engine(engine_bank(assessment), json.loads(settings)))
    return engine


def warm_published() -> int:
    """Build this process's pool and engine caches for every published assessment; how many."""
    published = db.session.scalars(select(Assessment).where(Assessment.status == "published")).all()
    for assessment in published:
        pool_items(assessment)
        scoring_items(assessment)
        # Starting uses the definition's settings, answering the full settings each attempt records.
        engine = engine_for(assessment, assessment.engine)
        engine_for(assessment, engine.cfg.to_dict())
    return len(published)


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


def _simulated_people(
    assessment: Assessment, cfg: EngineConfig, n: int, rng, true_correlation=None
) -> np.ndarray:
    """True θs of the publishing simulation: N(0, Σ) with the engine's prior correlation, or with
    ``true_correlation`` (the calibrated correlation's lower bound, services/calibration_prior)."""
    dims = len(assessment.dimensions)
    if not (cfg.mcat and dims > 1):
        return rng.standard_normal(n)
    rho = cfg.prior_correlation if true_correlation is None else true_correlation
    if isinstance(rho, int | float):
        cov = np.full((dims, dims), float(rho))
        np.fill_diagonal(cov, 1.0)
    else:
        cov = np.asarray(rho, dtype=float)
    return rng.multivariate_normal(np.zeros(dims), cov, size=n)


def classification_report(assessment: Assessment, truth, theta, se) -> dict:
    """Accuracy and consistency of the levels the assessment reports, per dimension and overall.

    Simulated accuracy compares the class of the true θ with the class of θ̂ (with a 95 % Wilson
    interval); expected accuracy and consistency follow Rudner's method from θ̂ and SE alone
    (competency.irt.classification). Classes are the assessment's reported classes
    (grade_rule["report"]); the overall grade is the grade rule applied to every dimension.
    """
    frame = grading.ReportFrame.of(assessment)
    truth, theta, se = (np.asarray(x, dtype=float).reshape(len(truth), -1) for x in (truth, theta, se))
    dimensions = []
    for d, code in enumerate(frame.codes):
        cuts = frame.dimension_cuts(d)
        simulated = classification.simulated(
            classification.classify(truth[:, d], cuts), classification.classify(theta[:, d], cuts)
        )
        expected = classification.rudner(theta[:, d], se[:, d], cuts)
        dimensions.append(_agreement_row(code, simulated, expected, len(truth)))
    true_levels, given_levels = frame.overall_levels(truth), frame.overall_levels(theta)
    to_class = frame.level_to_class
    overall = _agreement_row(
        "overall",
        classification.simulated(to_class[true_levels], to_class[given_levels]),
        classification.rudner_composite(theta, se, frame.overall_classes),
        len(truth),
    )
    overall_levels = _agreement_row(
        "overall_levels",
        classification.simulated(true_levels, given_levels),
        classification.rudner_composite(theta, se, frame.overall_levels),
        len(truth),
    )
    return {
        "method": "simulated (true vs estimated class) and Rudner (2001, 2005) expected accuracy/consistency",
        "dimensions": dimensions,
        "overall": overall,
        "overall_levels": overall_levels,
        "classes": {
            "dimensions": [grading.group_label(frame.scale, g) for g in frame.dimension_groups],
            "overall": [grading.group_label(frame.scale, g) for g in frame.overall_groups],
        },
    }


def _agreement_row(code: str, simulated: float, expected: classification.Agreement, n: int) -> dict:
    lo, hi = classification.wilson_interval(simulated, n)
    return {
        "code": code,
        "accuracy": round(simulated, 3),
        "accuracy_ci95": [round(lo, 3), round(hi, 3)],
        "expected_accuracy": round(expected.accuracy, 3),
        "consistency": round(expected.consistency, 3),
        "n": n,
    }


def accuracy_shortfalls(assessment: Assessment, report: dict) -> list[str]:
    """Reported accuracies below the assessment's configured minimum, each naming its dimension."""
    minimum = {**DEFAULT_MIN_ACCURACY, **((assessment.grade_rule or {}).get("min_accuracy") or {})}
    found = []
    for row in report["dimensions"]:
        if row["accuracy"] < float(minimum["dimensions"]):
            found.append(f"{row['code']}: {row['accuracy']:.3f} < {float(minimum['dimensions']):.2f}")
    if report["overall"]["accuracy"] < float(minimum["overall"]):
        found.append(f"overall: {report['overall']['accuracy']:.3f} < {float(minimum['overall']):.2f}")
    return found


def simulate_definition(
    assessment: Assessment, bank: Bank, n: int = 200, seed: int = 7, true_correlation=None
) -> dict:
    """Expected behaviour of the test on simulated people: length, precision by θ, exposure, and the
    accuracy of the levels it reports."""
    cfg = engine_config(assessment)
    rng = np.random.default_rng(seed)
    thetas = _simulated_people(assessment, cfg, n, rng, true_correlation)
    report = run_simulation(
        bank,
        thetas,
        selector=cfg.selector,
        estimator=cfg.estimator,
        se_target=cfg.se_target,
        min_items=cfg.min_items,
        max_items=cfg.max_items,
        seed=seed,
        config=cfg,
    )
    rmse = np.atleast_1d(report.rmse)
    mean_se = np.atleast_1d(report.mean_se)
    return {
        "examinees": int(n),
        "mean_length": float(np.mean(report.lengths)),
        "min_length": int(np.min(report.lengths)),
        "max_length": int(np.max(report.lengths)),
        "rmse": [round(float(x), 3) for x in rmse],
        "mean_se": [round(float(x), 3) for x in mean_se],
        "max_exposure": round(float(np.max(report.exposure)), 3),
        "items_never_used": int(np.sum(report.exposure == 0)),
        "overlap_rate": round(float(report.overlap_rate), 3),
        "stop_reasons": {k: int(v) for k, v in report.stop_reasons.items()},
        "conditional": [{k: _json_number(v) for k, v in row.items()} for row in report.conditional],
        "dimensions": list(assessment.dimensions),
        "classification": classification_report(assessment, report.true_theta, report.theta, report.se),
    }


def _json_number(value):
    """JSON has no infinity or NaN (PostgreSQL refuses them): open bin edges become null."""
    if isinstance(value, float | np.floating):
        return round(float(value), 3) if np.isfinite(value) else None
    return value


def publish(
    assessment: Assessment,
    actor: User | None = None,
    n_simulees: int = 200,
    commit: bool = True,
    override_reason: str | None = None,
) -> dict:
    """Freeze the pool, run the simulation and open the assessment; refuse a definition that cannot work.

    Publication is also refused when the simulated classification accuracy of a reported level is
    below the assessment's minimum (grade_rule["min_accuracy"]); only a platform admin may publish
    anyway, with a reason that is audited.
    """
    rows = candidate_items(assessment)
    problems = check_definition(assessment, rows)
    if problems:
        raise ServiceError("cannot_publish", "; ".join(problems), "definition", status=422)
    bank = Bank.from_items(bank_items(assessment, rows))
    simulation = simulate_definition(assessment, bank, n=n_simulees)
    simulation["prior_check"] = calibration_prior.check(assessment, bank, simulation, n_simulees)
    shortfalls = accuracy_shortfalls(assessment, simulation["classification"])
    reason = (override_reason or "").strip()
    if shortfalls and (not reason or actor is None or actor.role != Role.PLATFORM_ADMIN):
        raise ServiceError(
            "accuracy_below_minimum",
            _(
                "classification accuracy below the minimum (%(details)s); lengthen the test, use "
                "coarser reported classes, or (platform admins only) publish with a reason",
                details="; ".join(shortfalls),
            ),
            "grade_rule.min_accuracy",
            status=422,
        )
    assessment.pool = [{"code": item.code, "version": params.version} for item, params in rows]
    assessment.graph_version = graph.data_version()
    assessment.published_at = utcnow()
    assessment.simulation = simulation
    assessment.status = "published"
    detail = {"accuracy_shortfalls": shortfalls, "override_reason": reason} if shortfalls else None
    audit.record("assessment.publish", "assessment", assessment.id, actor=actor, detail=detail)
    if commit:
        db.session.commit()
    return assessment.simulation


# ---------------------------------------------------------------------------- audience


def cohort_ids_of(user: User) -> set[int]:
    return set(
        db.session.scalars(select(CohortMembership.cohort_id).where(CohortMembership.user_id == user.id))
    )


def assigned_assessment_ids(user: User, now: datetime | None = None) -> set[int]:
    """Assessments assigned to a cohort the person is in, whose assignment window is open now."""
    now = now or utcnow()
    stmt = (
        select(CohortAssignment.assessment_id)
        .join(CohortMembership, CohortMembership.cohort_id == CohortAssignment.cohort_id)
        .where(
            CohortMembership.user_id == user.id,
            CohortAssignment.opens_at <= now,
            CohortAssignment.closes_at > now,
        )
    )
    return set(db.session.scalars(stmt))


def is_open_to(
    assessment: Assessment,
    user: User,
    now: datetime | None = None,
    *,
    cohort_ids: set[int] | None = None,
    assigned_ids: set[int] | None = None,
) -> bool:
    """Published, inside its window, and the person is in its audience or in a cohort it is assigned to.

    The audience is the assessment's own and only its managers change it; a cohort assignment grants its
    members access beside the audience and never narrows who else may take it. The assessment's
    role rule still holds for assigned members (a teacher test stays a teacher test).
    """
    now = now or utcnow()
    if assessment.status != "published":
        return False
    if assessment.opens_at and now < assessment.opens_at:
        return False
    if assessment.closes_at and now >= assessment.closes_at:
        return False
    audience = assessment.audience or {}
    if audience.get("roles") and user.role not in audience["roles"]:
        return False
    if in_audience(assessment, user, cohort_ids):
        return True
    if assigned_ids is None:
        assigned_ids = assigned_assessment_ids(user, now)
    return assessment.id in assigned_ids


def in_audience(assessment: Assessment, user: User, cohort_ids: set[int] | None = None) -> bool:
    """The audience's institution and cohort rules (roles are checked by the caller)."""
    audience = assessment.audience or {}
    if assessment.institution_id and assessment.institution_id != user.institution_id:
        return False
    if audience.get("institution_ids") and user.institution_id not in audience["institution_ids"]:
        return False
    if audience.get("cohort_ids"):
        mine = cohort_ids if cohort_ids is not None else cohort_ids_of(user)
        return bool(mine & set(audience["cohort_ids"]))
    return True


def open_assessments(user: User) -> list[Assessment]:
    rows = db.session.scalars(
        select(Assessment).where(Assessment.status == "published").order_by(Assessment.id)
    )
    now = utcnow()
    cohorts = cohort_ids_of(user)
    assigned = assigned_assessment_ids(user, now)
    return [a for a in rows if is_open_to(a, user, now, cohort_ids=cohorts, assigned_ids=assigned)]


# ---------------------------------------------------------------------------- editing


def can_manage(actor: User, assessment: Assessment) -> bool:
    """Platform admins manage every assessment; institution admins and trainers their institution's."""
    if actor.role == "platform_admin":
        return True
    return (
        actor.role in ("institution_admin", "trainer") and assessment.institution_id == actor.institution_id
    )


def visible_to_manager(actor: User) -> list[Assessment]:
    stmt = select(Assessment).options(undefer(Assessment.pool)).order_by(Assessment.id.desc())
    rows = db.session.scalars(stmt).all()
    if actor.role == "platform_admin":
        return list(rows)
    return [a for a in rows if a.institution_id in (None, actor.institution_id)]


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
    """A new draft with the same definition, for changing a published assessment."""
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
        "institution_id",
    )
    copy = Assessment(
        code=f"{base}{n}",
        status="draft",
        created_by_id=actor.id,
        **{c: getattr(assessment, c) for c in columns},
    )
    db.session.add(copy)
    db.session.flush()
    audit.record("assessment.duplicate", "assessment", copy.id, actor=actor, detail={"from": assessment.id})
    db.session.commit()
    return copy
