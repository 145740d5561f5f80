"""The pilot programme's diagnosis step on the real maturity diagnosis (no monkeypatching): the officer's
request opens a real round for the applicant, the application waits while it is open, and the round's
closed result becomes the application's diagnosis score."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import MaturityRound, utcnow
from competency.services import pilot_applications, pilot_attachments, pilot_reviews
from tests.app.pilot_factory import PDF_BYTES, make_call
from tests.app.test_maturity import _frozen


def test_diagnosis_step_opens_and_reads_a_real_maturity_round(app, make_user):
    applicant = make_user("institution_admin", "link_applicant")
    officer = make_user("programme_officer", "link_officer", inst=None)
    call = make_call()
    application = pilot_applications.start(call, applicant)
    pilot_attachments.add_attachment(application, "stamped_scan", "scan.pdf", PDF_BYTES, applicant)
    application.status = "screened"
    db.session.commit()
    with app.test_request_context():
        pilot_reviews.request_diagnosis(application, officer)
    db.session.refresh(application)
    rnd = db.session.get(MaturityRound, application.diagnosis_round_id)
    assert application.status == "diagnosing"
    assert rnd is not None and rnd.institution_id == applicant.institution_id and rnd.status == "open"
    with app.test_request_context():
        assert pilot_reviews.refresh_diagnosis(application, officer) is False  # still open
    rnd.status, rnd.closed_at, rnd.result = "closed", utcnow(), _frozen(3.6)
    db.session.commit()
    with app.test_request_context():
        assert pilot_reviews.refresh_diagnosis(application, officer) is True
    db.session.refresh(application)
    assert application.status == "diagnosed"
    assert application.diagnosis_score == 65.0  # 3.6 on the 1–5 scale is 65 of 100
    assert db.session.scalars(select(MaturityRound)).all() == [rnd]
