"""The maturity diagnosis end to end: open, invite, answer as every group, evidence, two experts,
close, report (HTML and PDF), re-diagnosis; and who may see what."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from competency.extensions import db
from competency.maturity import maturity_model
from competency.models import (
    AuditEvent,
    Cohort,
    CohortMembership,
    MaturityAction,
    MaturityEvidence,
    MaturityRespondent,
    MaturityRound,
)
from competency.services import maturity_rounds, maturity_summary
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _client(app, user):
    client = app.test_client()
    login(client, user.username)
    return client


def _cohort(name, members, institution):
    cohort = Cohort(name=name, institution_id=institution.id)
    db.session.add(cohort)
    db.session.flush()
    db.session.add_all(CohortMembership(cohort_id=cohort.id, user_id=m.id) for m in members)
    db.session.commit()
    return cohort


def _answer_all(client, url, value="4", submit=True):
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    codes = sorted(set(re.findall(r'type="radio" name="([A-Z]{2}\.\d\.\d)"', page)))
    assert codes, "the questionnaire shows statements"
    data = {"csrf_token": token, "action": "submit" if submit else "save"}
    data.update({code: value for code in codes})
    return client.post(url, data=data), codes


def _via_link(app, link_token, value):
    client = app.test_client()
    token = csrf_from(client, f"/maturity/join/{link_token}")
    started = client.post(f"/maturity/join/{link_token}", data={"csrf_token": token})
    assert started.status_code == 302
    url = started.headers["Location"]
    response, codes = _answer_all(client, url, value)
    assert response.status_code == 302
    return url, codes


def _run_round(app, admin, platform, experts, teachers, students, institution, title, values):
    """One whole round through the web pages; returns the round."""
    client = _client(app, admin)
    token = csrf_from(client, "/maturity/")
    opened = client.post(
        "/maturity/rounds",
        data={
            "csrf_token": token,
            "open-title": title,
            "open-scenarios": ["virtual_training", "shared_centre"],
        },
    )
    assert opened.status_code == 302, opened.get_data(as_text=True)
    rnd = db.session.scalar(select(MaturityRound).where(MaturityRound.title == title))
    assert rnd.scenarios == ["shared_centre", "virtual_training"]
    base = f"/maturity/rounds/{rnd.id}"
    token = csrf_from(client, base)
    teacher_cohort = db.session.scalar(select(Cohort).where(Cohort.name == "教师组"))
    student_cohort = db.session.scalar(select(Cohort).where(Cohort.name == "学生组"))
    for group, cohort in (("teacher", teacher_cohort), ("student", student_cohort)):
        r = client.post(
            f"{base}/invite-cohort",
            data={"csrf_token": token, "cohort-group": group, "cohort-cohort_id": cohort.id},
        )
        assert r.status_code == 302
    for group in ("leader", "mentor"):
        r = client.post(
            f"{base}/invite-link", data={"csrf_token": token, "link-group": group, "link-expected": "6"}
        )
        assert r.status_code == 302
    links = {i.respondent_group: i.token for i in rnd.invitations if i.kind == "link"}

    # Cohort members start from their home page; their questionnaire is not linked to them.
    for person in teachers + students:
        member = _client(app, person)
        assert "开始填写问卷" in member.get("/maturity/my").get_data(as_text=True)
        invitation = next(
            i
            for i in rnd.invitations
            if i.cohort_id in (teacher_cohort.id, student_cohort.id)
            and i.respondent_group == ("teacher" if person in teachers else "student")
        )
        token_m = csrf_from(member, "/maturity/my")
        started = member.post(f"/maturity/tickets/{invitation.id}", data={"csrf_token": token_m})
        assert started.status_code == 302
        response, _codes = _answer_all(member, started.headers["Location"], values["member"])
        assert response.status_code == 302
    for _ in range(5):
        _via_link(app, links["leader"], values["leader"])
    for _ in range(4):  # four mentors: below the anonymity threshold
        _via_link(app, links["mentor"], "1")

    rates = client.get(f"{base}/rates.json").get_json()
    assert rates["groups"]["teacher"]["submitted"] == len(teachers)
    assert rates["groups"]["mentor"] == {"expected": 6, "submitted": 4, "rate": 67, "anonymous_ok": False}

    # Objective evidence: a good value with proof, and refused input that changes nothing.
    token = csrf_from(client, f"{base}/evidence")
    ok = client.post(
        f"{base}/evidence",
        data={
            "csrf_token": token,
            "ev-indicator": "DG.1.1",
            "ev-value": "yes",
            "ev-note": "数据标准 v2",
            "ev-attachment": (io.BytesIO(PDF), "标准.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    client.post(
        f"{base}/evidence", data={"csrf_token": token, "ev-indicator": "RP.2.1", "ev-value": values["ratio"]}
    )
    fake = client.post(
        f"{base}/evidence",
        data={
            "csrf_token": token,
            "ev-indicator": "LG.1.1",
            "ev-value": "yes",
            "ev-attachment": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "proof.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert fake.status_code == 400 and "PDF、PNG、JPEG" in fake.get_data(as_text=True)
    out_of_range = client.post(
        f"{base}/evidence", data={"csrf_token": token, "ev-indicator": "IN.1.1", "ev-value": "130"}
    )
    assert out_of_range.status_code == 400 and "0 至 100 %" in out_of_range.get_data(as_text=True)
    assert {
        e.indicator
        for e in db.session.scalars(select(MaturityEvidence).where(MaturityEvidence.round_id == rnd.id))
    } == {"DG.1.1", "RP.2.1"}

    # Platform staff assign two experts; each rates; one indicator more than a level apart.
    staff = _client(app, platform)
    token = csrf_from(staff, base)
    for expert in experts:
        assert (
            staff.post(
                f"{base}/experts", data={"csrf_token": token, "assign-expert_id": expert.id}
            ).status_code
            == 302
        )
    codes = [i.code for i in maturity_model().applicable(rnd.institution_type, rnd.scenarios)]
    for n, expert in enumerate(experts):
        ec = _client(app, expert)
        token = csrf_from(ec, f"{base}/rate")
        form = {"csrf_token": token}
        for code in codes:
            form[f"level-{code}"] = values["expert"][n] if code == "LG.1.1" else "3"
            form[f"comment-{code}"] = "依据证据"
        assert ec.post(f"{base}/rate", data=form).status_code == 302
    return rnd, base, client


@pytest.fixture
def people(app, make_user, institution):
    admin = make_user("institution_admin", "ia_m")
    platform = make_user("platform_admin", "pa_m")
    experts = [make_user("expert", f"ex{i}", inst=None) for i in (1, 2)]
    teachers = [make_user("teacher", f"mt{i}") for i in range(5)]
    students = [make_user("student", f"ms{i}") for i in range(5)]
    _cohort("教师组", teachers, institution)
    _cohort("学生组", students, institution)
    return admin, platform, experts, teachers, students


def test_a_whole_round_and_a_re_diagnosis(app, people, institution, tmp_path):
    admin, platform, experts, teachers, students = people
    # Measured literacy: 3 of the 5 teachers have a graded result (2 at L3 or above).
    tdl = make_assessment("TDL-M")
    for teacher, level in zip(teachers[:3], ("L4", "L3", "L5"), strict=True):
        make_attempt(teacher, tdl, {"T1": level}, overall=level)
    make_attempt(teachers[0], tdl, {"T1": "L2"}, overall="L2")  # the latest attempt counts, not the best

    first_values = {"member": "3", "leader": "5", "ratio": "45", "expert": ("2", "4")}
    rnd, base, client = _run_round(
        app, admin, platform, experts, teachers, students, institution, "第一轮诊断", first_values
    )

    # The experts disagree by two levels on LG.1.1: flagged; one records the consensus.
    ec = _client(app, experts[0])
    page = ec.get(f"{base}/rate").get_data(as_text=True)
    assert "LG.1.1" in page and "2, 4" in page
    token = csrf_from(ec, f"{base}/rate")
    bad = ec.post(
        f"{base}/consensus", data={"csrf_token": token, "cons-indicator": "LG.1.1", "cons-level": "3"}
    )
    assert bad.status_code == 302 and db.session.scalar(select(func.count()).select_from(MaturityRound)) == 1
    ec.post(
        f"{base}/consensus",
        data={"csrf_token": token, "cons-indicator": "LG.1.1", "cons-level": "3", "cons-comment": "讨论后"},
    )

    token = csrf_from(client, base)
    closed = client.post(f"{base}/close", data={"csrf_token": token})
    assert closed.status_code == 302
    db.session.refresh(rnd)
    result = rnd.result
    assert rnd.status == "closed" and result["overall"]["level"] in (1, 2, 3, 4, 5)
    # Mentors (4) are below the threshold: neither shown nor used.
    assert result["groups"]["sizes"]["mentor"] == 4 and "mentor" not in result["groups"]["shown"]
    assert result["groups"]["shown"] == ["leader", "teacher", "student"]
    lg = result["indicators"]["LG.1.1"]
    assert lg["expert"]["flagged"] and lg["expert"]["consensus"] == 3 and lg["expert"]["score"] == 3.0
    # Measured literacy from GROUP BY: 3 of 5 teachers tested, 2 of 3 at L3+ (teacher 0's latest attempt is L2).
    assert result["literacy"]["teacher"]["tested"] == 3 and result["literacy"]["teacher"]["coverage"] == 60.0
    assert result["indicators"]["DL.1.2"]["objective_value"] == pytest.approx(66.7)
    assert result["literacy"]["teacher"]["as_of"]
    assert result["indicators"]["DG.1.1"]["objective"] == 3.0  # yes with proof
    assert "TL.3.1" in result["not_applicable"]  # the remote-training scenario was not chosen
    # No respondent is ever tied to a person.
    assert not hasattr(MaturityRespondent, "user_id")

    report = client.get(f"{base}/report").get_data(as_text=True)
    assert 'role="img"' in report and "<svg" in report
    assert (
        'id="area-table"' in report
        and "企业导师" not in report.split('id="group-table"')[1].split("<thead>")[1].split("</thead>")[0]
    )
    # The weakest indicator's recommendation is the descriptor of the level one up.
    weakest = min((v["score"], c) for c, v in result["indicators"].items() if v["score"] is not None)[1]
    rec = maturity_model().indicators[weakest]
    assert rec.descriptor(result["indicators"][weakest]["level"] + 1, "zh") in report

    # An action from a recommendation; then update it.
    token = csrf_from(client, f"{base}/report")
    client.post(
        f"{base}/actions",
        data={
            "csrf_token": token,
            "act-indicator": rec.code,
            "act-title": "整改",
            "act-owner": "信息中心",
            "act-due_on": "2027-06-30",
        },
    )
    action = db.session.scalar(select(MaturityAction))
    assert action.target_level == result["indicators"][rec.code]["level"] + 1
    client.post(
        f"{base}/actions/{action.id}",
        data={
            "csrf_token": token,
            f"a{action.id}-status": "in_progress",
            f"a{action.id}-owner": "王主任",
            f"a{action.id}-due_on": "2027-07-01",
        },
    )
    db.session.refresh(action)
    assert action.status == "in_progress" and action.owner == "王主任"

    # The PDF: embedded CJK font, the text, and ink where the title is.
    pdf = client.get(f"{base}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert re.search(rb"/BaseFont /[A-Z]{6}\+DroidSansFallback", pdf.data)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.data)
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "数字化成熟度诊断报告" in text and institution.name in text and "改进行动清单" in text
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-gray",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(path),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    data = (tmp_path / "p.pgm").read_bytes()
    _magic, width, height, _maxval, pixels = data.split(maxsplit=4)
    width, height = int(width), int(height)
    title_band = pixels[int(height * 0.03) * width : int(height * 0.08) * width]
    assert sum(1 for p in title_band if p < 128) > 50

    # The summary interface for the pilot workflow.
    with app.test_request_context():
        summary = maturity_summary.latest_summary(institution.id)
    assert summary["round_id"] == rnd.id and 1 <= summary["overall_level"] <= 5
    assert summary["report_url"] == f"/maturity/rounds/{rnd.id}/report"
    assert {a["code"] for a in summary["areas"]} <= {a["code"] for a in maturity_model().areas}

    # Re-diagnosis: a second round, better answers; change per area and indicator; the action carries over.
    second_values = {"member": "5", "leader": "5", "ratio": "85", "expert": ("4", "4")}
    rnd2, base2, client = _run_round(
        app, admin, platform, experts, teachers, students, institution, "第二轮诊断", second_values
    )
    assert rnd2.previous_round_id == rnd.id
    token = csrf_from(client, base2)
    client.post(f"{base2}/close", data={"csrf_token": token})
    db.session.refresh(rnd2)
    assert rnd2.result["areas"]["RP"]["score"] > result["areas"]["RP"]["score"]
    report2 = client.get(f"{base2}/report").get_data(as_text=True)
    assert "整改" in report2  # the action list carried over
    rp_row = re.search(r'<tr data-area="RP">(.*?)</tr>', report2, re.S).group(1)
    assert re.search(r"\+\d\.\d\d", rp_row)
    with app.test_request_context():
        assert maturity_summary.latest_summary(institution.id)["round_id"] == rnd2.id
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "maturity_round_close")
        )
        == 2
    )


def test_open_round_for_and_one_open_round_at_a_time(app, make_user, institution, other_institution):
    admin = make_user("institution_admin", "ia_o")
    officer = make_user("programme_officer", "po", inst=None)
    teacher = make_user("teacher", "t_o")
    with app.test_request_context():
        assert maturity_summary.latest_summary(institution.id) is None
        round_id = maturity_summary.open_round_for(institution.id, admin, "自评")
        assert db.session.get(MaturityRound, round_id).status == "open"
        with pytest.raises(maturity_rounds.Conflict):
            maturity_summary.open_round_for(institution.id, officer, "再开一轮")
        foreign_id = maturity_summary.open_round_for(other_institution.id, officer, "外校")
        assert foreign_id > round_id
        for actor, inst in ((admin, other_institution), (teacher, institution)):
            with pytest.raises(maturity_rounds.NotFound):
                maturity_summary.open_round_for(inst.id, actor, "x")
        # Nobody there, nothing entered, nothing rated: no level to report, so it stays open.
        empty = db.session.get(MaturityRound, foreign_id)
        with pytest.raises(maturity_rounds.Conflict, match="证据"):
            maturity_rounds.close_round(empty, officer)
        assert empty.status == "open"
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "maturity_round_open")
    ).all()
    assert len(events) == 2


def test_roles_are_enforced(app, make_user, institution, other_institution):
    admin = make_user("institution_admin", "ia_r")
    foreign_admin = make_user("institution_admin", "ia_f", inst=other_institution)
    assigned, outsider = make_user("expert", "ex_a", inst=None), make_user("expert", "ex_b", inst=None)
    teacher = make_user("teacher", "t_r")
    with app.test_request_context():
        rnd = maturity_rounds.open_round(institution.id, admin, "权限测试")
        invitation = maturity_rounds.invite_link(rnd, "leader", 5, admin)
        from competency.models import MaturityExpertAssignment

        db.session.add(MaturityExpertAssignment(round_id=rnd.id, expert_id=assigned.id))
        db.session.commit()
    base = f"/maturity/rounds/{rnd.id}"
    foreign = _client(app, foreign_admin)
    for url in (base, f"{base}/report", f"{base}/evidence", f"{base}/report.pdf", f"{base}/rates.json"):
        assert foreign.get(url).status_code == 404, url
    token = csrf_from(foreign, "/maturity/")
    assert foreign.post(f"{base}/close", data={"csrf_token": token}).status_code == 404
    assert "权限测试" not in foreign.get("/maturity/").get_data(as_text=True)
    other = _client(app, outsider)
    assert other.get(base).status_code == 404 and other.get(f"{base}/rate").status_code == 404
    assert "权限测试" not in other.get("/maturity/").get_data(as_text=True)
    mine = _client(app, assigned)
    assert mine.get(f"{base}/rate").status_code == 200 and "权限测试" in mine.get("/maturity/").get_data(
        as_text=True
    )
    assert mine.get(f"{base}/evidence").status_code == 403  # experts review evidence, they do not enter it
    assert _client(app, teacher).get(base).status_code == 403
    officer = _client(app, make_user("programme_officer", "po_r", inst=None))
    assert officer.get(base).status_code == 200 and officer.get(f"{base}/evidence").status_code == 403

    # Respondents: each token opens only its own questionnaire; answers of others are never shown.
    url_a, codes = _via_link(app, invitation.token, "5")
    client_b = app.test_client()
    tok = csrf_from(client_b, f"/maturity/join/{invitation.token}")
    url_b = client_b.post(f"/maturity/join/{invitation.token}", data={"csrf_token": tok}).headers["Location"]
    page_b = client_b.get(url_b).get_data(as_text=True)
    # The same browser returning to the link continues its own unfinished questionnaire.
    again = client_b.post(f"/maturity/join/{invitation.token}", data={"csrf_token": tok})
    assert again.headers["Location"] == url_b
    assert "checked" not in page_b  # B's fresh questionnaire shows none of A's answers
    assert app.test_client().get("/maturity/q/not-a-real-token").status_code == 404
    assert app.test_client().get("/maturity/join/not-a-real-token").status_code == 404
    # A submitted questionnaire cannot be changed.
    page_a = app.test_client().get(url_a).get_data(as_text=True)
    assert 'type="radio"' not in page_a


def test_cohort_ticket_is_used_once(app, make_user, institution):
    admin = make_user("institution_admin", "ia_t")
    members = [make_user("teacher", f"tt{i}") for i in range(2)]
    cohort = _cohort("票据班", members, institution)
    with app.test_request_context():
        rnd = maturity_rounds.open_round(institution.id, admin, "票据")
        invitation = maturity_rounds.invite_cohort(rnd, "teacher", cohort.id, admin)
    member = _client(app, members[0])
    assert "/maturity/my" in member.get("/home").get_data(as_text=True)
    token = csrf_from(member, "/maturity/my")
    assert member.post(f"/maturity/tickets/{invitation.id}", data={"csrf_token": token}).status_code == 302
    again = member.post(f"/maturity/tickets/{invitation.id}", data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"].endswith("/maturity/my")
    assert db.session.scalar(select(func.count()).select_from(MaturityRespondent)) == 1
    assert "/maturity/my" not in member.get("/home").get_data(as_text=True)
    stranger = _client(app, make_user("teacher", "not_invited"))
    token = csrf_from(stranger, "/maturity/my")
    assert stranger.post(f"/maturity/tickets/{invitation.id}", data={"csrf_token": token}).status_code == 404


def test_questionnaire_needs_every_answer_and_takes_na(app, make_user, institution):
    admin = make_user("institution_admin", "ia_q")
    with app.test_request_context():
        rnd = maturity_rounds.open_round(institution.id, admin, "问卷")
        invitation = maturity_rounds.invite_link(rnd, "teacher", 5, admin)
    client = app.test_client()
    tok = csrf_from(client, f"/maturity/join/{invitation.token}")
    url = client.post(f"/maturity/join/{invitation.token}", data={"csrf_token": tok}).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    codes = sorted(set(re.findall(r'type="radio" name="([A-Z]{2}\.\d\.\d)"', page)))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    partial = client.post(url, data={"csrf_token": token, "action": "submit", codes[0]: "na"})
    assert partial.status_code == 400 and codes[1] in partial.get_data(as_text=True)
    bad = client.post(url, data={"csrf_token": token, "action": "save", codes[0]: "7"})
    assert bad.status_code == 400
    respondent = db.session.scalar(select(MaturityRespondent))
    assert respondent.answers == {codes[0]: "na"} and not respondent.submitted
    answers = {c: "decline" if i % 2 else "4" for i, c in enumerate(codes)}
    done = client.post(url, data={"csrf_token": token, "action": "submit", **answers})
    assert done.status_code == 302
    db.session.refresh(respondent)
    assert respondent.submitted and respondent.answers[codes[1]] == "decline"


def test_demo_seed_is_idempotent_and_labelled(app):
    from competency.services.demo import seed_accounts
    from competency.services.maturity_demo import seed_maturity_demo

    seed_accounts(lambda _l: None)
    seed_maturity_demo(lambda _l: None)
    db.session.commit()
    seed_maturity_demo(lambda _l: None)
    db.session.commit()
    rounds = list(db.session.scalars(select(MaturityRound).order_by(MaturityRound.id)))
    assert [r.status for r in rounds] == ["closed", "open"] and all(r.synthetic for r in rounds)
    sizes = rounds[0].result["groups"]["sizes"]
    assert sum(sizes.values()) >= 60 and set(sizes) == {"leader", "teacher", "student", "mentor"}
    assert rounds[1].previous_round_id == rounds[0].id
    assert any(
        e["expert"] and len(e["expert"]["levels"]) == 2 for e in rounds[0].result["indicators"].values()
    )
    client = app.test_client()
    login(client, "school_admin", "competency-demo")
    page = client.get(f"/maturity/rounds/{rounds[0].id}/report").get_data(as_text=True)
    assert "合成" in page or "synthetic" in page


def test_peer_comparison_needs_five_same_type_peers(app, make_user, institution):
    from competency.models import Institution
    from competency.services import maturity_report

    admin = make_user("institution_admin", "ia_p")

    def closed_round(inst, score):
        db.session.add(
            MaturityRound(
                institution_id=inst.id,
                title=f"r{inst.id}",
                status="closed",
                model_version="1.0.0",
                institution_type=inst.type,
                scenarios=[],
                weights={},
                closed_at=None,
                result=_frozen(score),
            )
        )

    with app.test_request_context():
        own = maturity_rounds.open_round(institution.id, admin, "本校")
    other_type = Institution(name="某企业", type="enterprise")
    db.session.add(other_type)
    peers = [Institution(name=f"同类{i}", type=institution.type) for i in range(5)]
    db.session.add_all(peers)
    db.session.flush()
    closed_round(institution, 3.5)  # the institution's own earlier round is no peer of itself
    own.status, own.result = "closed", {**_frozen(3.5), "indicators": {}}
    closed_round(other_type, 4.0)
    for i, peer in enumerate(peers[:4]):
        closed_round(peer, 2.0 + i * 0.5)
    db.session.commit()
    assert maturity_report.build(own)["peers"] is None and maturity_report.build(own)["peer_count"] == 4
    closed_round(peers[4], 4.0)
    db.session.commit()
    report = maturity_report.build(own)
    assert report["peer_count"] == 5  # the enterprise is not a peer of a 高职
    assert report["peers"]["LG"] == {"median": 3.0, "q1": 2.5, "q3": 3.5, "below_share": 60, "peers": 5}


def _frozen(score):
    area = {"score": score, "level": int(score), "percent": (score - 1) * 25, "unscored": []}
    return {
        "areas": {a["code"]: area for a in maturity_model().areas},
        "overall": area,
        "groups": {"sizes": {}, "shown": [], "by_area": {}},
        "literacy": {},
        "weights": {},
        "model_version": "1.0.0",
    }


def test_cli_prints_the_model_contract(app):
    import json

    out = app.test_cli_runner().invoke(args=["maturity", "model", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [lv["name_zh"] for lv in data["levels"]] == ["规划级", "规范级", "集成级", "优化级", "引领级"]
    assert all({"code", "name_zh", "name_en"} <= set(lv) for lv in data["levels"] + data["areas"])
    areas = {a["code"] for a in data["areas"]}
    for ind in data["indicators"]:
        assert {"code", "area", "name_zh", "name_en", "descriptors"} <= set(ind)
        assert ind["area"] in areas and len(ind["descriptors"]) == 5
    outline = app.test_cli_runner().invoke(args=["maturity", "model"])
    assert "规划级" in outline.output and "26 indicators" in outline.output


def test_proof_files_are_served_only_to_the_round_and_rejected_values_do_not_count(
    app, make_user, institution
):
    from competency.models import MaturityExpertAssignment
    from competency.services import maturity_evidence
    from competency.services.maturity_scoring import compute

    admin = make_user("institution_admin", "ia_e")
    expert, outsider = make_user("expert", "ex_e", inst=None), make_user("expert", "ex_x", inst=None)
    with app.test_request_context():
        rnd = maturity_rounds.open_round(institution.id, admin, "证据")
        db.session.add(MaturityExpertAssignment(round_id=rnd.id, expert_id=expert.id))
        db.session.commit()
        evidence = maturity_evidence.enter(
            rnd, "DG.1.1", "是", "", admin, filename="../../etc/证明.pdf", content=PDF
        )
        with pytest.raises(maturity_rounds.ServiceError, match="证明材料"):
            maturity_evidence.enter(rnd, "LG.1.1", "yes", "", admin)
    assert evidence.attachment_name == "证明.pdf" and evidence.value == 1.0
    stored = maturity_evidence.attachment_path(evidence)
    assert stored.is_file() and "static" not in str(stored)
    url = f"/maturity/rounds/{rnd.id}/evidence/{evidence.id}/file"
    got = _client(app, expert).get(url)
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E8%AF%81%E6%98%8E.pdf"
    )
    assert _client(app, outsider).get(url).status_code == 404
    assert compute(rnd)["indicators"]["DG.1.1"]["objective"] == 3.0
    ec = _client(app, expert)
    token = csrf_from(ec, f"/maturity/rounds/{rnd.id}/rate")
    ec.post(
        f"/maturity/rounds/{rnd.id}/evidence/{evidence.id}/review",
        data={
            "csrf_token": token,
            f"rv{evidence.id}-status": "rejected",
            f"rv{evidence.id}-comment": "无盖章",
        },
    )
    db.session.refresh(evidence)
    assert evidence.review_status == "rejected"
    assert compute(rnd)["indicators"]["DG.1.1"]["objective"] is None


def test_questionnaire_speaks_english_when_asked(app, make_user, institution):
    admin = make_user("institution_admin", "ia_en")
    with app.test_request_context():
        rnd = maturity_rounds.open_round(institution.id, admin, "English")
        invitation = maturity_rounds.invite_link(rnd, "mentor", 5, admin)
    client = app.test_client()
    token = csrf_from(client, f"/maturity/join/{invitation.token}")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/"})
    url = client.post(f"/maturity/join/{invitation.token}", data={"csrf_token": token}).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    statement = maturity_model().indicators["IC.1.1"].questionnaire["statement_en"]
    assert statement in page and "Prefer not to answer" in page and "Company mentors" in page


def test_round_weights_are_set_when_opening(app, make_user, institution):
    admin = make_user("institution_admin", "ia_w")
    client = _client(app, admin)
    token = csrf_from(client, "/maturity/")
    zero = {
        "csrf_token": token,
        "open-title": "全零",
        "open-weight_questionnaire": "0",
        "open-weight_objective": "0",
        "open-weight_expert": "0",
    }
    refused = client.post("/maturity/rounds", data=zero)
    assert refused.status_code == 400 and "权重须为三个非负数" in refused.get_data(as_text=True)
    too_big = client.post("/maturity/rounds", data={**zero, "open-weight_expert": "150"})
    assert too_big.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(MaturityRound)) == 0
    ok = client.post(
        "/maturity/rounds",
        data={**zero, "open-title": "重专家", "open-weight_expert": "80", "open-weight_questionnaire": "20"},
    )
    assert ok.status_code == 302
    rnd = db.session.scalar(select(MaturityRound))
    assert rnd.weights == {"questionnaire": 0.2, "objective": 0.0, "expert": 0.8}
    assert rnd.scenarios == []  # no scenario ticked: scenario-bound indicators do not apply
