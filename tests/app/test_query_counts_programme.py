"""The programme's list pages send as many SQL statements for 30 applications as for 6: no query per row.

A call is built with applications in every stage (submitted, in review with expert reviews, selected and
designated with milestones, objections during the notice); each officer, expert and public list page is
requested and its statements counted; then more applications of the same mix are added and the counts
must not change. An N+1 that comes back fails here whatever the machine's speed.
"""

from __future__ import annotations

from datetime import timedelta

from competency.extensions import db
from competency.models import (
    Institution,
    PilotApplication,
    PilotDesignation,
    PilotMilestone,
    PilotObjection,
    PilotReview,
    utcnow,
)
from tests.app.conftest import login
from tests.app.pilot_factory import make_call

STAGES = ["submitted", "in_review", "reviewed", "selected", "designated", "not_selected"]


def _add_applications(call, experts, start: int, n: int) -> None:
    now = utcnow()
    for i in range(start, start + n):
        inst = Institution(name=f"申报院校{i:03d}", type="higher_vocational", region="广东", industries=["大数据"])
        db.session.add(inst)
        db.session.flush()
        status = STAGES[i % len(STAGES)]
        application = PilotApplication(
            call_id=call.id,
            institution_id=inst.id,
            status=status,
            form={"unit_name": inst.name, "institution_type": "higher_vocational", "industries": ["BD", "AI"]},
            submitted_at=now - timedelta(days=3),
            diagnosis_score=60.0 + i % 30,
            expert_score=70.0 + i % 20 if status != "submitted" else None,
            final_score=65.0 + i % 25 if status in ("reviewed", "selected", "designated", "not_selected") else None,
            rank=i + 1 if status in ("selected", "designated", "not_selected") else None,
        )
        db.session.add(application)
        db.session.flush()
        if status != "submitted":
            for expert in experts:
                db.session.add(
                    PilotReview(
                        application_id=application.id,
                        expert_id=expert.id,
                        submitted_at=now - timedelta(days=1) if status != "in_review" else None,
                        scores={"plan": 20},
                        comments={"plan": "合理"},
                        total=75.0 if status != "in_review" else None,
                    )
                )
        if status in ("selected", "designated"):
            db.session.add(
                PilotObjection(application_id=application.id, name="公众", contact="x@example.cn", text="异议内容")
            )
        if status == "designated":
            designation = PilotDesignation(
                code=f"PU-2026-{i:04d}",
                application_id=application.id,
                institution_id=inst.id,
                institution_name=inst.name,
                institution_type="higher_vocational",
                industries=["BD"],
                designated_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=730),
            )
            db.session.add(designation)
            db.session.flush()
            for month, kind in ((6, "milestone"), (12, "midterm"), (24, "final")):
                db.session.add(
                    PilotMilestone(
                        designation_id=designation.id,
                        kind=kind,
                        title=f"第{month}个月",
                        due_at=now + timedelta(days=30 * month),
                    )
                )
    db.session.commit()


def _counts(counter, clients, call) -> dict[str, int]:
    officer, expert, public = clients
    pages = {
        "officer call": (officer, f"/pilots/office/calls/{call.id}"),
        "officer call filtered": (officer, f"/pilots/office/calls/{call.id}?status=designated"),
        "officer ranking": (officer, f"/pilots/office/calls/{call.id}/ranking"),
        "officer objections": (officer, f"/pilots/office/calls/{call.id}/objections"),
        "officer dashboard": (officer, f"/pilots/office/dashboard?call={call.id}"),
        "officer home": (officer, "/pilots/office/"),
        "expert reviews": (expert, "/pilots/reviews/"),
        "public notice": (public, f"/notices/pilots/{call.id}"),
        "public register": (public, "/pilot-units"),
    }
    counts = {}
    for name, (client, url) in pages.items():
        with counter:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = counter.count
    return counts


def test_programme_pages_do_not_grow_with_applications(app, make_user, count_queries):
    officer = make_user("programme_officer", "officer_q", inst=None)
    experts = [make_user("expert", f"expert_q{n}", inst=None) for n in range(3)]
    now = utcnow()
    call = make_call(
        opens_at=now - timedelta(days=40),
        closes_at=now - timedelta(days=20),
        notice_starts_at=now - timedelta(days=2),
        notice_ends_at=now + timedelta(days=5),
        quota=3,
    )
    clients = [app.test_client() for _ in range(3)]
    login(clients[0], officer.username)
    login(clients[1], experts[0].username)
    _add_applications(call, experts, 0, 6)
    small = _counts(count_queries, clients, call)
    _add_applications(call, experts, 6, 24)
    large = _counts(count_queries, clients, call)
    assert large == small
