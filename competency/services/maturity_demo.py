"""Demo diagnosis (seed-demo): one finished round and one in progress at the first demo institution.

Everything here is synthetic and labelled so (``MaturityRound.synthetic``): 64 invented respondents in
four groups, invented evidence figures with a generated proof document, two demo experts' ratings.
Running it again adds nothing (the rounds are found by title).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import Institution, MaturityRespondent, MaturityRound, User, utcnow
from competency.services import (
    maturity_actions,
    maturity_evidence,
    maturity_experts,
    maturity_respondents,
    maturity_rounds,
)

FIRST_TITLE = "2026 年春季数字化成熟度诊断（演示）"
SECOND_TITLE = "2026 年秋季复诊（演示）"
# Respondents per group in the finished round (64 in all) and each group's leaning on the 1–5 scale:
# leaders see the institution more favourably than students, as SELFIE reports typically show.
GROUPS = {"leader": (8, 0.8), "teacher": (22, 0.2), "student": (24, -0.3), "mentor": (10, -0.1)}
# The institution's invented "true" level per area: strong platforms and infrastructure, weak data use.
AREA_LEVEL = {"LG": 3.2, "RP": 3.6, "TL": 3.0, "PT": 2.8, "IC": 2.4, "IN": 3.8, "DG": 2.1, "DL": 2.6}
FIRST_VALUES = {
    "LG.1.1": "yes",
    "LG.2.1": "3.5",
    "RP.1.1": "7",
    "RP.2.1": "58",
    "TL.1.1": "41",
    "TL.3.1": "2600",
    "PT.1.1": "30",
    "IC.1.1": "4",
    "IN.1.1": "92",
    "IN.2.1": "4000",
    "DG.1.1": "no",
    "DG.3.1": "55",
    "DL.1.3": "18",
}
SECOND_VALUES = {"RP.2.1": "66", "DG.1.1": "yes", "DG.3.1": "80", "IC.1.1": "6"}


def _proof_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a proof document, saying that it is demo material."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from competency.pdf import text

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4)
    text.draw(canvas, 72, 760, "演示证明材料（合成数据）", 18)
    text.draw(canvas, 72, 730, title, 12)
    canvas.save()
    return buf.getvalue()


def _answers(rng: random.Random, rnd: MaturityRound, group: str, lean: float, shift: float) -> dict:
    answers = {}
    for ind in maturity_respondents.questionnaire_items(rnd, group):
        roll = rng.random()
        if roll < 0.04:
            answers[ind.code] = rules.NOT_APPLICABLE
        elif roll < 0.06:
            answers[ind.code] = rules.DECLINED
        else:
            centre = AREA_LEVEL[ind.area] + shift + lean
            answers[ind.code] = max(1, min(5, round(rng.gauss(centre, 0.8))))
    return answers


def _respondents(rnd, invitations, rng, shift, share=1.0) -> int:
    count = 0
    for group, (n, lean) in GROUPS.items():
        for _ in range(round(n * share)):
            db.session.add(
                MaturityRespondent(
                    round_id=rnd.id,
                    invitation_id=invitations[group].id,
                    respondent_group=group,
                    token_hash=maturity_respondents.token_digest(f"demo-{rnd.id}-{group}-{count}-{rng.random()}"),
                    answers=_answers(rng, rnd, group, lean, shift),
                    submitted=True,
                )
            )
            count += 1
    db.session.flush()
    return count


def _evidence(rnd, values: dict, admin: User) -> None:
    specs = {i.code: i for i in maturity_evidence.objective_indicators(rnd)}
    for code, raw in values.items():
        if code not in specs:
            continue
        needs_proof = specs[code].objective.get("attachment_required") and raw == "yes"
        maturity_evidence.enter(
            rnd,
            code,
            raw,
            "演示数据：由系统生成的合成数值。",
            admin,
            filename=f"{code}-proof.pdf" if needs_proof else None,
            content=_proof_pdf(f"{code} {specs[code].objective['label_zh']}") if needs_proof else None,
            commit=False,
        )


def _ratings(
    rnd, expert: User, rng: random.Random, shift: float, bias: float, only: int | None = None
) -> None:
    form = {}
    applicable = maturity_model().applicable(rnd.institution_type, rnd.scenarios)
    for ind in applicable[:only]:
        level = max(1, min(5, round(AREA_LEVEL[ind.area] + shift + bias + rng.uniform(-0.5, 0.5))))
        form[f"level-{ind.code}"] = str(level)
        form[f"comment-{ind.code}"] = (
            f"演示评语：依据问卷与证据，{ind.name_zh}达到{maturity_model().level(level)['name_zh']}。"
        )
    maturity_experts.rate(rnd, expert, form, commit=False)


def seed_maturity_demo(log: Callable[[str], None]) -> None:
    institution = db.session.scalar(select(Institution).order_by(Institution.id).limit(1))
    admin = db.session.scalar(select(User).where(User.username == "school_admin"))
    platform = db.session.scalar(select(User).where(User.username == "admin"))
    experts = [db.session.scalar(select(User).where(User.username == name)) for name in ("expert", "expert2")]
    if institution is None or admin is None or platform is None or None in experts:
        return
    exists = db.session.scalar(
        select(MaturityRound.id).where(
            MaturityRound.institution_id == institution.id, MaturityRound.title == FIRST_TITLE
        )
    )
    if exists is not None:
        return
    rng = random.Random(18)

    first = maturity_rounds.open_round(institution.id, admin, FIRST_TITLE, synthetic=True, commit=False)
    invitations = {
        group: maturity_rounds.invite_link(first, group, n + 2, admin, label="演示链接", commit=False)
        for group, (n, _lean) in GROUPS.items()
    }
    n = _respondents(first, invitations, rng, shift=0.0)
    _evidence(first, FIRST_VALUES, admin)
    for expert in experts:
        maturity_rounds.assign_expert(first, expert.id, platform, commit=False)
    db.session.flush()
    for evidence in maturity_evidence.evidence_of(first).values():
        maturity_evidence.review(evidence, "accepted", "演示：材料与数值一致。", experts[0], commit=False)
    _ratings(first, experts[0], rng, 0.0, 0.0)
    _ratings(first, experts[1], rng, 0.0, -0.3)
    # One real disagreement, settled in the consensus step, so the report shows how that looks.
    disputed = maturity_experts.ratings_by_indicator(first)["DG.2.1"]
    disputed[experts[0].id].level, disputed[experts[1].id].level = 3, 1
    db.session.flush()
    maturity_experts.record_consensus(
        first,
        experts[0],
        "DG.2.1",
        "2",
        "演示：两位专家讨论后认定为规范级（有数据报表，尚无数据驾驶舱）。",
        commit=False,
    )
    maturity_rounds.close_round(first, admin, commit=False)
    first.opened_at = utcnow() - timedelta(days=210)
    first.closed_at = utcnow() - timedelta(days=180)
    today = date.today()
    plans = [
        ("DG.1.1", "制定校级数据标准并建设数据中台", "信息中心 王主任", today - timedelta(days=30), "done"),
        ("DG.2.1", "建设专业诊改数据驾驶舱", "质量办 刘老师", today + timedelta(days=60), "in_progress"),
        (
            "IC.1.1",
            "与 3 家合作企业打通实习实训数据",
            "校企合作处 陈处长",
            today + timedelta(days=120),
            "planned",
        ),
    ]
    for code, title, owner, due, status in plans:
        action = maturity_actions.create(first, code, title, owner, due, admin, commit=False)
        action.status = status
    log(f"maturity round {FIRST_TITLE} ({n} synthetic respondents, closed)")

    second = maturity_rounds.open_round(institution.id, admin, SECOND_TITLE, synthetic=True, commit=False)
    invitations = {
        group: maturity_rounds.invite_link(second, group, n + 2, admin, label="演示链接", commit=False)
        for group, (n, _lean) in GROUPS.items()
    }
    n = _respondents(second, invitations, rng, shift=0.35, share=0.6)
    _evidence(second, {**FIRST_VALUES, **SECOND_VALUES}, admin)
    maturity_rounds.assign_expert(second, experts[0].id, platform, commit=False)
    db.session.flush()
    _ratings(second, experts[0], rng, 0.35, 0.0, only=10)
    second.opened_at = utcnow() - timedelta(days=20)
    log(f"maturity round {SECOND_TITLE} ({n} synthetic respondents so far, open)")
