"""Publishing: freeze the pool, simulate the test on simulated people, report the accuracy of the levels
it reports, and open it; a definition that cannot work, or reports levels too inaccurately, is refused."""

from __future__ import annotations

import numpy as np
from flask_babel import gettext as _

from competency import graph
from competency.extensions import db
from competency.irt import classification
from competency.irt.cat import Bank, EngineConfig
from competency.irt.cat import simulate as run_simulation
from competency.models import Assessment, Role, User, utcnow
from competency.services import audit, caches, calibration_prior, grading
from competency.services.assessment_definitions import candidate_items, check_definition, engine_config
from competency.services.errors import ServiceError
from competency.services.pools import make_bank

# The minimum simulated accuracy of the reported classes, unless grade_rule["min_accuracy"] says otherwise.
DEFAULT_MIN_ACCURACY = {"dimensions": 0.8, "overall": 0.85}


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


def classification_report(assessment: Assessment, truth, theta, se, cov=None) -> dict:
    """Accuracy and consistency of the levels the assessment reports, per dimension and overall.

    Simulated accuracy compares the class of the true θ with the class of θ̂ (with a 95 % Wilson
    interval); expected accuracy and consistency follow Rudner's method from θ̂ and SE alone
    (competency.irt.classification). Classes are the assessment's reported classes
    (grade_rule["report"]); the overall grade is the grade rule applied to every dimension. ``cov`` (each
    person's posterior covariance) makes the overall index honest about the correlated errors of a
    multidimensional CAT; without it the errors are taken as independent, which overstates it.
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
        classification.rudner_composite(theta, se, frame.overall_classes, cov=cov),
        len(truth),
    )
    overall_levels = _agreement_row(
        "overall_levels",
        classification.simulated(true_levels, given_levels),
        classification.rudner_composite(theta, se, frame.overall_levels, cov=cov),
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
        "classification": classification_report(
            assessment, report.true_theta, report.theta, report.se, report.cov
        ),
    }


def prior_check(assessment: Assessment, bank: Bank, base: dict, n: int) -> dict | None:
    """The publishing simulation again with people drawn at the calibrated correlation's lower bound:
    how SEs and accuracy change if the MCAT's prior is too optimistic (None for one dimension)."""
    low = calibration_prior.lower_bound(assessment)
    if low is None:
        return None
    again = simulate_definition(assessment, bank, n=n, true_correlation=low)
    return calibration_prior.compare(base, again, low, calibration_prior.source_of(assessment))


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
    bank = make_bank(assessment, rows)
    simulation = simulate_definition(assessment, bank, n=n_simulees)
    simulation["prior_check"] = prior_check(assessment, bank, simulation, n_simulees)
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
    # Entries of an earlier publication are never hit again (the key is the publication time): free them.
    caches.forget_assessment(assessment.id)
    return assessment.simulation
