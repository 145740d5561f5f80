"""Online (fixed-item) calibration from stored responses: a pilot item lands on the operational scale."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from competency.cli import calibrate_command
from competency.extensions import db
from competency.models import Assessment, Attempt, Item, ItemParams, Response

ANCHORS = [(1.0, -1.0), (1.4, -0.3), (0.9, 0.0), (1.2, 0.6), (1.5, 1.1)]
PILOT = (1.3, 0.4)


def _item(code: str, a: float, b: float, status: str) -> Item:
    item = Item(
        code=code,
        bank="calib",
        type="truefalse",
        node="T4.2.1",
        level="L3",
        status=status,
        content={"stem": "x", "key": True},
        current_version=1,
    )
    item.versions.append(
        ItemParams(
            version=1,
            model="2pl",
            a=a if status == "operational" else 1.0,
            b=b if status == "operational" else 0.0,
            source="provisional",
        )
    )
    return item


def _world(user, n: int = 600, seed: int = 3, focal=None, shift: float = 0.0) -> None:
    """n attempts of ``user`` (and n of ``focal``, for whom item A2 is ``shift`` logits harder)."""
    rng = np.random.default_rng(seed)
    items = [_item(f"A{i}", a, b, "operational") for i, (a, b) in enumerate(ANCHORS)]
    items.append(_item("PILOT", *PILOT, status="pilot"))
    db.session.add_all(items)
    assessment = Assessment(
        code="CAL",
        title_zh="标定",
        title_en="Calibration",
        kind="teacher_graded",
        scale="teacher",
        dimensions=["T4"],
        nodes=["T4"],
        engine={},
        cut_scores={},
        grade_rule={},
        status="archived",
    )
    db.session.add(assessment)
    db.session.flush()
    truth = [*ANCHORS, PILOT]
    people = [(user, 0.0)] * n + ([(focal, shift)] * n if focal is not None else [])
    for who, dif in people:
        theta = rng.standard_normal()
        attempt = Attempt(
            assessment_id=assessment.id,
            user_id=who.id,
            status="graded",
            state={},
            engine={},
            param_versions={},
        )
        db.session.add(attempt)
        db.session.flush()
        for position, (item, (a, b)) in enumerate(zip(items, truth, strict=True), start=1):
            b = b + dif if item.code == "A2" else b
            score = int(rng.random() < 1 / (1 + np.exp(-a * (theta - b))))
            db.session.add(
                Response(
                    attempt_id=attempt.id,
                    position=position,
                    item_code=item.code,
                    param_version=1,
                    answer={"value": bool(score)},
                    score=score,
                    pilot=item.status == "pilot",
                )
            )
    db.session.commit()


def test_pilot_item_is_calibrated_on_the_anchor_scale(app, make_user):
    _world(make_user("teacher", "many"))
    result = app.test_cli_runner().invoke(calibrate_command, ["--min-responses", "100", "--apply"])
    assert result.exit_code == 0, result.output
    assert "1 estimated, 5 anchors" in result.output
    pilot = db.session.scalar(select(Item).where(Item.code == "PILOT"))
    latest = pilot.versions[-1]
    assert pilot.current_version == 2 and latest.source.startswith("calibration:")
    assert abs(latest.a - PILOT[0]) < 0.35
    assert abs(latest.b - PILOT[1]) < 0.25
    anchor = db.session.scalar(select(Item).where(Item.code == "A1"))
    assert anchor.current_version == 1  # anchors keep their parameters


def test_too_few_responses_is_a_clear_refusal(app, make_user):
    result = app.test_cli_runner().invoke(calibrate_command, [])
    assert result.exit_code != 0
    assert "no item has 200 or more responses" in result.output


def test_calibration_report_prints_standard_errors_fit_and_reliability(app, make_user):
    _world(make_user("teacher", "many"))
    result = app.test_cli_runner().invoke(calibrate_command, ["--min-responses", "100"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("PILOT:"))
    assert "(SE " in line and "RMSD" in line and "outfit" in line
    se_a = float(line.split("a=")[1].split("(SE ")[1].split(")")[0])
    assert 0.02 < se_a < 0.3  # 600 responses
    assert "reliability: marginal" in result.output and "person fit (lz*" in result.output
    assert "misfit" not in result.output  # data simulated from the anchors' own parameters


def test_full_run_links_to_the_current_scale_and_flags_the_drifting_item(app, make_user):
    _world(make_user("teacher", "many"), n=1500)
    # item A3's stored b is 0.8 logits off the b its responses were generated with: it has drifted
    a3 = db.session.scalar(select(Item).where(Item.code == "A3"))
    a3.versions[0].b = ANCHORS[3][1] - 0.8
    db.session.commit()
    result = app.test_cli_runner().invoke(calibrate_command, ["--min-responses", "100", "--mode", "full"])
    assert result.exit_code == 0, result.output
    assert "drift against the current parameters (Stocking–Lord" in result.output
    drifted = [line.split(":")[0].strip() for line in result.output.splitlines() if line.endswith("DRIFT")]
    assert drifted == ["A3"]
    a3_line = next(line for line in result.output.splitlines() if line.strip().startswith("A3: Δa"))
    assert 0.4 < float(a3_line.split("Δb=")[1].split(" ")[0]) < 1.2


def test_publish_only_the_approved_estimates_and_keep_earlier_responses_versions(app, make_user):
    from competency.models import AuditEvent

    _world(make_user("teacher", "many"))
    before = sorted(db.session.scalars(select(Response.param_version)).all())
    result = app.test_cli_runner().invoke(
        calibrate_command, ["--min-responses", "100", "--mode", "full", "--apply", "--approve", "PILOT,A1"]
    )
    assert result.exit_code == 0, result.output
    versions = {it.code: it.current_version for it in db.session.scalars(select(Item))}
    assert versions == {"A0": 1, "A1": 2, "A2": 1, "A3": 1, "A4": 1, "PILOT": 2}
    assert "A0: rejected (not approved); keeps version 1" in result.output
    assert sorted(db.session.scalars(select(Response.param_version)).all()) == before  # nothing rescored
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "items.calibrate")).one()
    assert sorted(event.detail["rejected"]) == ["A0", "A2", "A3", "A4"]


def test_approve_needs_apply_and_known_codes(app, make_user):
    _world(make_user("teacher", "many"), n=300)
    result = app.test_cli_runner().invoke(calibrate_command, ["--min-responses", "100", "--approve", "PILOT"])
    assert result.exit_code != 0 and "only meaningful with apply" in result.output
    result = app.test_cli_runner().invoke(
        calibrate_command, ["--min-responses", "100", "--apply", "--approve", "NOPE"]
    )
    assert result.exit_code != 0 and "unknown item code NOPE" in result.output
    assert {it.current_version for it in db.session.scalars(select(Item))} == {1}


def test_dif_check_from_a_groups_file_flags_the_planted_item(app, make_user, tmp_path):
    ref, foc = make_user("teacher", "refgroup"), make_user("teacher", "focgroup")
    _world(ref, n=700, focal=foc, shift=1.0)
    groups = tmp_path / "groups.csv"
    groups.write_text("username,group\nrefgroup,reference\nfocgroup,focal\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        calibrate_command, ["--min-responses", "100", "--dif-groups", str(groups)]
    )
    assert result.exit_code == 0, result.output
    assert "DIF (reference 700, focal 700 attempts" in result.output
    flagged = [line.split(":")[0].strip() for line in result.output.splitlines() if "MH D-DIF" in line]
    assert "A2" in flagged and len(flagged) <= 2
    a2 = next(line for line in result.output.splitlines() if line.strip().startswith("A2: MH D-DIF"))
    assert float(a2.split("MH D-DIF ")[1].split(" ")[0]) < -1.0  # harder for the focal group


def test_bad_groups_file_names_the_line_and_changes_nothing(app, make_user, tmp_path):
    _world(make_user("teacher", "many"), n=300)
    groups = tmp_path / "groups.csv"
    groups.write_text("username,group\nmany,reference\nother,maybe\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        calibrate_command, ["--min-responses", "100", "--apply", "--dif-groups", str(groups)]
    )
    assert result.exit_code != 0 and "line 3: group must be reference or focal" in result.output
    assert {it.current_version for it in db.session.scalars(select(Item))} == {1}


def test_a_window_reads_only_its_responses(app, make_user):
    _world(make_user("teacher", "many"), n=150)
    runner = app.test_cli_runner()
    # Scored with another parameter version, or finished before the window: nothing to fit.
    other = runner.invoke(calibrate_command, ["--min-responses", "100", "--param-version", "2"])
    assert other.exit_code != 0 and "no item has 100 or more responses" in other.output
    db.session.execute(Attempt.__table__.update().values(finished_at=datetime(2026, 3, 1, tzinfo=UTC)))
    db.session.commit()
    late = runner.invoke(calibrate_command, ["--min-responses", "100", "--since", "2026-06-01"])
    assert late.exit_code != 0
    inside = runner.invoke(
        calibrate_command,
        ["--min-responses", "100", "--since", "2026-01-01", "--until", "2026-04-01", "--param-version", "1"],
    )
    assert inside.exit_code == 0, inside.output
    assert "1 estimated, 5 anchors" in inside.output
