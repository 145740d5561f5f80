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


def report_lines(run) -> list[str]:
    """The run's findings as text (the command line's report)."""
    f = run.findings or {}
    lines = [f"calibration run {run.id} of {run.assessment.code}: {run.status}"]
    if run.error:
        return [*lines, f"  failed: {run.error}"]
    lines.append(
        f"  {f.get('attempts', 0)} graded attempts, {f.get('responses', 0)} responses; {run.settings}"
    )
    for d in f.get("dimensions", []):
        link = d.get("linking") or {}
        lines.append(
            f"  {d['code']}: {d['items']} items ({d['anchors']} anchors), converged={d['converged']}, "
            f"reliability marginal {d['reliability_marginal']} empirical {d['reliability_empirical']}, "
            f"lz* flagged {d.get('lz_flagged', '-')}/{d.get('lz_n', '-')}"
            + (f", Stocking–Lord A={link['A']} B={link['B']}" if link else "")
        )
    corr = f.get("correlation") or {}
    if corr.get("matrix"):
        dims = corr["dimensions"]
        pairs = [
            f"{dims[i]}-{dims[j]} {corr['matrix'][i][j]:.3f} (SE {corr['se'][i][j]:.3f})"
            for i in range(len(dims))
            for j in range(i + 1, len(dims))
        ]
        lines.append("  latent correlations: " + ", ".join(pairs))
    for g in f.get("groupings", []):
        lines.append(f"  DIF groups {g['code']}: focal {g['n_focal']}, reference {g['n_reference']}")
    for row in f.get("items", []):
        new = row["new"] or {}
        flags = [
            name
            for name, on in (
                ("misfit", row["misfit"]),
                ("imprecise", row.get("imprecise")),
                ("DRIFT", (row["drift"] or {}).get("flag")),
                ("DIF " + ",".join(x["grouping"] for x in row["dif"]), bool(row["dif"])),
            )
            if on
        ]
        est = (
            "anchor"
            if row["anchor"]
            else f"a={new.get('a')} (SE {new.get('se_a')}) b={new.get('b')} (SE {new.get('se_b')})"
        )
        drift = row["drift"] or {}
        lines.append(
            f"  {row['code']}: n={row['n']} {est}; RMSD {row['rmsd']}, outfit {row['outfit']}"
            + (f"; Δb={drift['delta_b']} (SE {drift['se_delta_b']})" if drift else "")
            + (f"; {' '.join(flags)}" if flags else "")
            + (f"; decision {run.decisions[row['code']]}" if row["code"] in (run.decisions or {}) else "")
            + (
                f"; proposed {calibration_runs.suggested(row)}"
                if run.status == "review" and row["new"]
                else ""
            )
        )
    return lines


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
            return report_lines(run)
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
            *report_lines(run),
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
        *report_lines(run),
        f"run {run.id} waits for review: publish with --run {run.id} --apply [--approve CODES]",
    ]


def simulate_assessment(code: str, examinees: int) -> list[str]:
    """`flask simulate --assessment CODE`: the publishing simulation of a published assessment, and for a
    multidimensional test the same at the lower bound of its prior correlation."""
    from competency.services import pools, publishing

    assessment = db.session.scalar(select(Assessment).where(Assessment.code == code))
    if assessment is None or not assessment.pool:
        raise ServiceError(
            "unknown_assessment", f"assessment: no published assessment with code {code}", "assessment"
        )
    bank = pools.engine_bank(assessment)
    base = publishing.simulate_definition(assessment, bank, n=examinees)
    lines = [
        f"{code}: {examinees} simulated takers, mean length {base['mean_length']:.1f}",
        f"  mean SE {base['mean_se']}, RMSE {base['rmse']}",
        "  accuracy per dimension "
        + ", ".join(f"{r['code']} {r['accuracy']:.3f}" for r in base["classification"]["dimensions"])
        + f"; overall class {base['classification']['overall']['accuracy']:.3f}",
    ]
    check = publishing.prior_check(assessment, bank, base, examinees)
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
