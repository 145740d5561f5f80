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


def _world(user, n: int = 600, seed: int = 3) -> None:
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
    thetas = rng.standard_normal(n)
    for theta in thetas:
        attempt = Attempt(
            assessment_id=assessment.id,
            user_id=user.id,
            status="graded",
            state={},
            engine={},
            param_versions={},
        )
        db.session.add(attempt)
        db.session.flush()
        for position, (item, (a, b)) in enumerate(zip(items, truth, strict=True), start=1):
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
