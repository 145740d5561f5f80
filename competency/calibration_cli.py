"""`flask calibrate --assessment CODE` / `--run N --apply`: the admin screen's calibration from the shell."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment
from competency.services import calibration_runs
from competency.services.errors import ServiceError


class _Printer:
    """Progress of a run computed in the shell, on stderr."""

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        click.echo(f"  [{done}/{total}] {message}", file=sys.stderr)


def run_or_publish(
    code: str | None,
    run_id: int | None,
    model: str | None,
    mode: str | None,
    min_responses: int,
    apply: bool,
    approve: str | None,
    pilot_positions: str | None,
) -> list[str]:
    if run_id is not None:
        run = calibration_runs.get_run(run_id)
        if not apply:
            return calibration_runs.report_lines(run)
        rows = [r for r in (run.findings or {}).get("items", []) if r["new"] is not None]
        if approve is None:  # the screen's proposals: usable, precise, no flag
            decisions = {r["code"]: calibration_runs.suggested(r) for r in rows}
        else:
            chosen = {c.strip() for c in approve.split(",") if c.strip()}
            decisions = {r["code"]: "approve" if r["code"] in chosen else "reject" for r in rows}
            unknown = sorted(chosen - set(decisions))
            if unknown:
                raise ServiceError(
                    "unknown_item", f"approve: no estimate for item {unknown[0]} in this run", "approve"
                )
        detail = calibration_runs.publish_run(run, None, decisions)
        return [
            *calibration_runs.report_lines(run),
            f"published {detail['new_versions']} new parameter versions; rejected {', '.join(detail['rejected']) or 'none'}"
            + ("; the assessment was re-frozen on them" if detail["republished"] else ""),
        ]
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == code))
    if assessment is None:
        raise ServiceError("unknown_assessment", f"assessment: no assessment with code {code}", "assessment")
    if pilot_positions is not None:
        done = calibration_runs.set_pilot_positions(assessment, pilot_positions, None)
        return [f"pilot positions of {code}: {', '.join(map(str, done)) or 'none'}"]
    if apply:
        raise ServiceError(
            "apply_needs_run", "apply: review the run first, then publish it with --run N --apply", "apply"
        )
    run = calibration_runs.start_run(
        assessment,
        None,
        {"model": model or "keep", "mode": mode or "full", "min_responses": min_responses},
        progress=_Printer(),
    )
    return [
        *calibration_runs.report_lines(run),
        f"run {run.id} waits for review: publish with --run {run.id} --apply [--approve CODES]",
    ]


def simulate_assessment(code: str, examinees: int) -> list[str]:
    """`flask simulate --assessment CODE`: the publishing simulation of a published assessment, and for a
    multidimensional test the same at the lower bound of its prior correlation."""
    from competency.services import assessments as assessment_service
    from competency.services import calibration_prior

    assessment = db.session.scalar(select(Assessment).where(Assessment.code == code))
    if assessment is None or not assessment.pool:
        raise ServiceError(
            "unknown_assessment", f"assessment: no published assessment with code {code}", "assessment"
        )
    bank = assessment_service.engine_bank(assessment)
    base = assessment_service.simulate_definition(assessment, bank, n=examinees)
    lines = [
        f"{code}: {examinees} simulated takers, mean length {base['mean_length']:.1f}",
        f"  mean SE {base['mean_se']}, RMSE {base['rmse']}",
        "  accuracy per dimension "
        + ", ".join(f"{r['code']} {r['accuracy']:.3f}" for r in base["classification"]["dimensions"])
        + f"; overall class {base['classification']['overall']['accuracy']:.3f}",
    ]
    check = calibration_prior.check(assessment, bank, base, examinees)
    if check is None:
        return [*lines, "  one dimension (or no MCAT): no prior correlation to check"]
    low = check["correlation"]
    pairs = [low[i][j] for i in range(len(low)) for j in range(i + 1, len(low))]
    return [
        *lines,
        f"at the lower bound of the prior correlation ({check['source']}; "
        f"correlations {min(pairs):.2f}–{max(pairs):.2f}), prior unchanged:",
        f"  mean SE {check['mean_se']['lower']}, RMSE {check['rmse']['lower']}",
        f"  SE/RMSE {check['se_over_rmse']['base']} -> {check['se_over_rmse']['lower']} (below 1: SEs too optimistic)",
        f"  accuracy per dimension {check['accuracy']['base']} -> {check['accuracy']['lower']}; "
        f"overall class {check['overall_accuracy']['base']:.3f} -> {check['overall_accuracy']['lower']:.3f}",
    ]
