"""The round's result: every kind of evidence through the pure rules (competency.maturity.rules)."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.maturity import GROUPS, maturity_model, rules
from competency.models import MaturityRespondent, MaturityRound, utcnow
from competency.services import maturity_evidence, maturity_experts, maturity_literacy


def compute(rnd: MaturityRound) -> dict:
    """A JSON-ready result: per indicator its evidence and score, per area and overall the level, the
    group breakdown (groups of at least 5 only), measured literacy with its date."""
    model = maturity_model()
    applicable = model.applicable(rnd.institution_type, rnd.scenarios)
    codes = {i.code for i in applicable}
    responses = [
        {"group": group, "answers": {k: v for k, v in answers.items() if k in codes}}
        for group, answers in db.session.execute(
            select(MaturityRespondent.respondent_group, MaturityRespondent.answers).where(
                MaturityRespondent.round_id == rnd.id, MaturityRespondent.submitted.is_(True)
            )
        )
    ]
    questionnaire = rules.questionnaire_scores(responses)
    evidence = maturity_evidence.evidence_of(rnd)
    experts = maturity_experts.summaries(rnd)
    measured = maturity_literacy.measure(rnd.institution_id)
    weights = rnd.weights or model.weights
    indicators = {}
    for ind in applicable:
        q = questionnaire.pooled.get(ind.code, {})
        objective = None
        objective_value = None
        if ind.objective and ind.code in evidence and evidence[ind.code].review_status != "rejected":
            objective_value = evidence[ind.code].value
            objective = float(rules.banded_level(ind.objective, objective_value))
        elif ind.literacy:
            objective_value = maturity_literacy.metric(measured, ind.literacy)
            if objective_value is not None:
                objective = float(rules.banded_level(ind.literacy, objective_value))
        expert = experts.get(ind.code)
        score = rules.combine(
            {
                "questionnaire": q.get("score"),
                "objective": objective,
                "expert": expert["score"] if expert else None,
            },
            weights,
        )
        indicators[ind.code] = {
            "area": ind.area,
            "questionnaire": q.get("score"),
            "questionnaire_n": q.get("n", 0),
            "na": q.get("na", 0),
            "declined": q.get("declined", 0),
            "objective": objective,
            "objective_value": objective_value,
            "objective_source": "literacy" if ind.literacy else ("evidence" if ind.objective else None),
            "expert": expert,
            "score": score,
            "level": rules.level_of(score),
        }
    scores = {c: v["score"] for c, v in indicators.items()}
    rolled = rules.roll_up(
        scores,
        {c: v["area"] for c, v in indicators.items()},
        {i.code: i.weight for i in applicable},
        model.area_weights(),
    )
    return {
        "model_version": model.version,
        "computed_at": utcnow().isoformat(),
        "weights": weights,
        "indicators": indicators,
        "areas": rolled["areas"],
        "overall": rolled["overall"],
        "groups": {
            "sizes": questionnaire.group_sizes,
            "shown": [g for g in GROUPS if g in questionnaire.shown_groups],
            "by_area": rules.group_differences(
                questionnaire.by_group, {c: v["area"] for c, v in indicators.items()}
            ),
        },
        "literacy": measured,
        "not_applicable": sorted(set(model.indicators) - codes),
    }


def result_of(rnd: MaturityRound) -> dict:
    """The frozen result of a closed round, or a live preliminary one of an open round."""
    return rnd.result if rnd.status == "closed" and rnd.result else compute(rnd)
