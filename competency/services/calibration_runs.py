"""Calibration runs of an assessment: start (in the background), review, approve/reject, publish.

Publishing policy (also on the review page and in README): graded attempts are never rescored. Each
graded result keeps the θ, levels and certificate it was given, and every stored answer keeps the
parameter version it was scored with. Approved estimates become each item's next parameter version
(approved pilot items become operational); a published assessment is then re-frozen on the new versions,
so attempts started afterwards are scored with them. An attempt in progress at that moment continues
and is graded with the new versions. Rejected estimates are kept only in the run and the audit log.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from competency.extensions import db
from competency.irt.cat import EngineConfig
from competency.irt.cat.errors import CatError
from competency.models import Assessment, CalibrationRun, Item, ItemParams, Job, User, utcnow
from competency.services import audit, calibration_prior, calibration_review, jobs, pools, publishing
from competency.services.errors import ServiceError

JOB_KIND = "calibration.run"
PUBLISH_KIND = "calibration.publish"
MODELS = ("keep", "2pl", "3pl")
MODES = ("full", "online")
ACTIVE = ("queued", "running")


def check_settings(values: dict) -> dict:
    """Settings of a run, each problem naming its field."""
    model, mode = values.get("model") or "keep", values.get("mode") or "full"
    if model not in MODELS:
        raise ServiceError("invalid_model", _("Choose one of the offered models."), "model")
    if mode not in MODES:
        raise ServiceError("invalid_mode", _("Choose one of the offered modes."), "mode")
    try:
        minimum = int(values.get("min_responses") or 200)
    except (TypeError, ValueError):
        minimum = 0
    if not 20 <= minimum <= 1_000_000:
        raise ServiceError(
            "invalid_min_responses", _("The minimum number of responses must be 20 or more."), "min_responses"
        )
    return {"model": model, "mode": mode, "min_responses": minimum}


def start_run(assessment: Assessment, actor: User | None, values: dict, progress=None) -> CalibrationRun:
    """Queue a run; the work happens in a background job (``run_calibration``), never in the request.

    With ``progress`` (the command line) the run is computed here instead, reporting to it.
    """
    settings = check_settings(values)
    busy = db.session.scalar(
        select(CalibrationRun.id).where(
            CalibrationRun.assessment_id == assessment.id, CalibrationRun.status.in_(ACTIVE)
        )
    )
    if busy is not None:
        raise ServiceError("run_in_progress", _("A calibration run of this assessment is already under way."))
    run = CalibrationRun(
        assessment_id=assessment.id,
        settings=settings,
        created_by_id=actor.id if actor else None,
        decisions={},
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        "calibration.start",
        "calibration_run",
        run.id,
        actor=actor,
        detail={"assessment": assessment.id, **settings},
    )
    db.session.commit()
    if progress is not None:
        run_calibration(progress, {"run_id": run.id})
        db.session.refresh(run)
    else:
        dispatch(run)
    return run


# ---------------------------------------------------------------------------- background work


def _set_progress(run_id: int, done: int, total: int, message: str) -> None:
    db.session.execute(
        update(CalibrationRun)
        .where(CalibrationRun.id == run_id)
        .values(progress_done=done, progress_total=total, progress_message=message[:200])
    )
    db.session.commit()


@jobs.job_handler(JOB_KIND, label=_l("Calibration run"))
def run_calibration(ctx: Any, payload: dict) -> dict:
    """The job handler: compute the findings of run ``payload["run_id"]`` and leave them for review.

    ``ctx.progress(done, total, message)`` (the queue's) is called as dimensions finish; the run row
    keeps the same progress for its own page. A finished run (review, published, discarded, failed)
    is left alone, so a message delivered again changes nothing; a "running" run is computed again
    (the queue re-queues a job whose worker died, and claims each job for one worker at a time).
    """
    run_id = int(payload["run_id"])
    run = db.session.get(CalibrationRun, run_id)
    if run is None or run.status not in ACTIVE:
        return {"run": run_id, "skipped": True}
    run.status, run.started_at = "running", utcnow()
    db.session.commit()

    def progress(done: int, total: int, message: str) -> None:
        _set_progress(run_id, done, total, message)
        if ctx is not None and hasattr(ctx, "progress"):
            ctx.progress(done, total, message)

    try:
        findings = calibration_review.compute(run.assessment, dict(run.settings), progress)
    except ServiceError as exc:
        _finish_failed(run_id, exc.message)
        return {"run": run_id, "failed": exc.message}
    except Exception as exc:  # the run must not stay "running" for ever; the queue sees the error too
        _finish_failed(run_id, f"{type(exc).__name__}: {exc}")
        raise
    run = db.session.get_one(CalibrationRun, run_id)
    run.findings = findings
    run.status, run.finished_at = "review", utcnow()
    db.session.commit()
    return {"run": run_id, "items": len(findings["items"])}


def _finish_failed(run_id: int, message: str) -> None:
    db.session.rollback()
    run = db.session.get_one(CalibrationRun, run_id)
    run.status, run.error, run.finished_at = "failed", message[:2000], utcnow()
    db.session.commit()


def dispatch(run: CalibrationRun) -> None:
    """Hand the run to the job queue (issue 23's huey queue: a worker process in `make run` and in
    production, immediate in tests). The job's key is the run, so asking twice queues it once."""
    job = jobs.enqueue(
        JOB_KIND, {"run_id": run.id}, owner_id=run.created_by_id, idempotency_key=f"calibration-run-{run.id}"
    )
    run.job_id = job.id
    db.session.commit()


def sync_with_job(run: CalibrationRun) -> None:
    """A run whose job failed outside the handler (its worker died twice) is marked failed too; a
    publication whose job failed goes back to review with the reason."""
    if run.status not in (*ACTIVE, "publishing") or run.job_id is None:
        return
    job = db.session.get(Job, run.job_id)
    if job is not None and job.status == "failed":
        reason = job.error or "the background job failed"
        if run.status == "publishing":
            run.status, run.error = "review", reason
        else:
            run.status, run.error, run.finished_at = "failed", reason, utcnow()
        db.session.commit()


# ---------------------------------------------------------------------------- review and publication


def get_run(run_id: int) -> CalibrationRun:
    run = db.session.get(CalibrationRun, run_id)
    if run is None:
        raise ServiceError("not_found", _("No such calibration run."), status=404)
    return run


def runs_of(assessment: Assessment, limit: int = 20) -> list[CalibrationRun]:
    return list(
        db.session.scalars(
            select(CalibrationRun)
            .where(CalibrationRun.assessment_id == assessment.id)
            .order_by(CalibrationRun.id.desc())
            .limit(limit)
        )
    )


def suggested(row: dict) -> str:
    """The decision the page proposes: approve a usable, precise estimate with no misfit, drift or DIF flag."""
    if not row["publishable"] or row.get("imprecise"):
        return "reject"
    flagged = row["misfit"] or (row["drift"] or {}).get("flag") or row["dif"]
    return "reject" if flagged else "approve"


def _check_decisions(run: CalibrationRun, decisions: dict[str, str]) -> dict[str, dict]:
    """The run's estimated items by code, after checking every decision names one and is allowed."""
    rows = {r["code"]: r for r in (run.findings or {}).get("items", []) if r["new"] is not None}
    for code, decision in decisions.items():
        if code not in rows or decision not in ("approve", "reject"):
            raise ServiceError(
                "invalid_decision", _("Unknown item or decision: %(code)s", code=code), "decisions"
            )
        if decision == "approve" and not rows[code]["publishable"]:
            raise ServiceError(
                "not_publishable",
                _("%(code)s has no usable estimate and cannot be approved.", code=code),
                "decisions",
            )
    return rows


def request_publish(run: CalibrationRun, actor: User, decisions: dict[str, str]) -> None:
    """Record the decisions and publish in a background job (re-freezing a published assessment runs
    its pre-flight simulations, which take longer than a request may)."""
    if run.status != "review":
        raise ServiceError("not_in_review", _("Only a run waiting for review can be published."), "status")
    rows = _check_decisions(run, decisions)
    run.decisions = {c: decisions.get(c, "reject") for c in rows}
    run.status, run.error = "publishing", None
    audit.record(
        "calibration.publish_requested",
        "calibration_run",
        run.id,
        actor=actor,
        detail={"approved": sorted(c for c, d in run.decisions.items() if d == "approve")},
    )
    db.session.commit()
    job = jobs.enqueue(
        PUBLISH_KIND,
        {"run_id": run.id, "actor_id": actor.id},
        owner_id=actor.id,
        idempotency_key=f"calibration-publish-{run.id}",
    )
    run.job_id = job.id
    db.session.commit()


@jobs.job_handler(PUBLISH_KIND, label=_l("Publishing a calibration run"))
def publish_job(ctx: Any, payload: dict) -> dict:
    """Publish a run whose decisions are recorded; a refusal (e.g. the re-frozen assessment's accuracy
    is below its minimum) returns the run to review with the reason."""
    run = db.session.get(CalibrationRun, int(payload["run_id"]))
    if run is None or run.status != "publishing":
        return {"skipped": True}
    actor = db.session.get(User, int(payload["actor_id"]))
    if ctx is not None:
        ctx.progress(0, 1, "publishing")
    try:
        detail = publish_run(run, actor, dict(run.decisions))
    except ServiceError as exc:
        run = db.session.get_one(CalibrationRun, int(payload["run_id"]))
        run.status, run.error = "review", exc.message[:2000]
        db.session.commit()
        return {"refused": exc.message}
    return detail


def publish_run(run: CalibrationRun, actor: User | None, decisions: dict[str, str]) -> dict:
    """Record the per-item decisions and publish the approved estimates as new parameter versions;
    all or nothing (a refused re-publication of the assessment leaves every item as it was)."""
    try:
        return _publish(run, actor, decisions)
    except Exception:
        db.session.rollback()
        raise


def _publish(run: CalibrationRun, actor: User | None, decisions: dict[str, str]) -> dict:
    if run.status not in ("review", "publishing"):
        raise ServiceError("not_in_review", _("Only a run waiting for review can be published."), "status")
    rows = _check_decisions(run, decisions)
    approved = sorted(c for c, d in decisions.items() if d == "approve")
    rejected = sorted(set(rows) - set(approved))
    items = {i.code: i for i in db.session.scalars(select(Item).where(Item.code.in_(approved or [""])))}
    source = f"calibration:run-{run.id}"
    for code in approved:
        item, new = items[code], rows[code]["new"]
        item.current_version += 1
        item.versions.append(
            ItemParams(
                version=item.current_version,
                model=new["model"],
                a=new["a"],
                b=new["b"],
                c=new["c"],
                thresholds=new["thresholds"],
                source=source[:64],
            )
        )
        if item.status == "pilot":
            item.status = "operational"
    assessment = run.assessment
    prior = _calibrated_prior(run, assessment)
    if prior is not None:
        assessment.engine = {**assessment.engine, "prior_correlation": prior}
    # Published first, so the re-publication's pre-flight check finds this run's correlation.
    run.decisions = {**{c: "reject" for c in rejected}, **{c: "approve" for c in approved}}
    run.status, run.published_at, run.published_by_id = "published", utcnow(), actor.id if actor else None
    republished = False
    if assessment.status == "published" and (approved or prior is not None):
        db.session.flush()
        publishing.publish(assessment, actor, commit=False)
        republished = True
    detail = {
        "assessment": assessment.id,
        "approved": approved,
        "rejected": rejected,
        "new_versions": len(approved),
        "prior_correlation": prior is not None,
        "republished": republished,
    }
    audit.record("calibration.publish", "calibration_run", run.id, actor=actor, detail=detail)
    db.session.commit()
    return detail


def _calibrated_prior(run: CalibrationRun, assessment: Assessment) -> list[list[float]] | None:
    """The run's latent correlation matrix, in the assessment's dimension order, for an MCAT prior."""
    corr = (run.findings or {}).get("correlation") or {}
    if not (assessment.engine or {}).get("mcat") or not corr.get("matrix"):
        return None
    if sorted(corr["dimensions"]) != sorted(assessment.dimensions) or not corr.get("converged"):
        return None
    pos = {d: k for k, d in enumerate(corr["dimensions"])}
    return calibration_prior.pick(corr["matrix"], [pos[d] for d in assessment.dimensions])


def discard_run(run: CalibrationRun, actor: User) -> None:
    if run.status not in ("review", "failed"):
        raise ServiceError("not_discardable", _("Only a finished run can be discarded."), "status")
    run.status = "discarded"
    audit.record("calibration.discard", "calibration_run", run.id, actor=actor)
    db.session.commit()


def set_pilot_positions(assessment: Assessment, text: str, actor: User | None) -> list[int]:
    """Positions (1-based, e.g. "5, 12") at which new attempts get an unscored pilot item."""
    try:
        positions = sorted({int(p) for p in text.replace("，", ",").split(",") if p.strip()})
    except ValueError:
        raise ServiceError(
            "invalid_positions", _("Positions are whole numbers separated by commas."), "pilot_positions"
        ) from None
    engine = {**(assessment.engine or {}), "pilot_positions": positions}
    try:
        EngineConfig.from_dict(dict(engine))
    except (CatError, TypeError, ValueError) as exc:
        raise ServiceError("invalid_positions", str(exc), "pilot_positions") from exc
    if positions and assessment.status == "published":
        pool = pools.pool_items(assessment)
        if not any(entry.pilot for entry in pool.values()):
            raise ServiceError(
                "no_pilot_items", _("The assessment's pool has no pilot items to place."), "pilot_positions"
            )
    if positions and max(positions) > int(engine.get("max_items") or 40) + len(positions):
        raise ServiceError(
            "invalid_positions", _("A position lies beyond the longest test."), "pilot_positions"
        )
    assessment.engine = engine
    audit.record(
        "assessment.pilot_positions",
        "assessment",
        assessment.id,
        actor=actor,
        detail={"positions": positions},
    )
    db.session.commit()
    return positions
