"""`seed-scale`: realistic rows in bulk for the scale benchmarks.

Adds N teachers and M students to the first demo institution, each with one graded attempt of a demo
assessment (the teacher assessment TDL-2026, the student evaluation SDL-2026) and its responses, in
cohorts of the demo trainer, each cohort with an assignment whose window holds those attempts.

Rows are written in batches: with COPY on PostgreSQL (psycopg's copy protocol, the fastest way in)
and with executemany elsewhere. Ids of the rows other rows refer to are taken from the sequences first,
so one batch of users, memberships, attempts and responses goes in without a round trip per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import networkx as nx
import numpy as np
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from competency import graph
from competency.extensions import db
from competency.models import (
    Assessment,
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    Institution,
    Response,
    ResultLevel,
    User,
    utcnow,
)
from competency.services import cohort_profile_rows, summary_rows
from competency.services.bulk_rows import reserve_ids as _reserve_ids
from competency.services.bulk_rows import write as _write
from competency.services.demo import DEMO_INSTITUTIONS, DEMO_PASSWORD
from competency.services.errors import ServiceError
from competency.services.result_levels import rows_for

BATCH = 5_000  # people per batch: bounded memory for any N
ASSESSMENTS = {"teacher": "TDL-2026", "student": "SDL-2026"}
DEPARTMENTS = ["信息工程学院", "智能制造学院", "汽车工程学院", "财经商贸学院", "公共基础部", "艺术设计学院"]
PROGRAMMES = ["大数据技术", "人工智能技术应用", "新能源汽车技术", "软件技术", "电子商务", "工业机器人技术"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂"


@dataclass
class ScaleReport:
    teachers: int = 0
    students: int = 0
    attempts: int = 0
    responses: int = 0
    cohorts: list[tuple[int, str, int, int]] = field(default_factory=list)  # (id, name, members, assignment)
    seconds: float = 0.0


def _demo() -> tuple[Institution, User, dict[str, Assessment]]:
    inst = db.session.scalar(select(Institution).where(Institution.name == DEMO_INSTITUTIONS[0]["name"]))
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    found = {
        role: db.session.scalar(select(Assessment).where(Assessment.code == code))
        for role, code in ASSESSMENTS.items()
    }
    if inst is None or trainer is None or any(a is None or not a.pool for a in found.values()):
        raise ServiceError(
            "demo_missing", _("load the demo first (flask --app competency seed-demo)"), "seed"
        )
    return inst, trainer, found


class _Maker:
    """Rows for one assessment's takers: plausible names, profiles, abilities, levels and answers."""

    def __init__(self, role: str, assessment: Assessment, rng: np.random.Generator):
        self.role, self.assessment, self.rng = role, assessment, rng
        self.scale = graph.level_scale(assessment.scale)
        cuts = assessment.cut_scores or {}
        self.cuts = np.array(
            cuts.get("*") or cuts.get("overall") or [-1.5, -0.5, 0.5, 1.5][: len(self.scale.codes) - 1]
        )
        tree = graph.teacher_map() if role == "teacher" else graph.student_indicators()
        self.dims = [
            {
                "code": d,
                "name_zh": tree.nodes[d]["name_zh"] if d in tree else d,
                "name_en": tree.nodes[d]["name_en"] if d in tree else d,
            }
            for d in assessment.dimensions
        ]
        self.indicators = {
            d: sorted(n for n in nx.descendants(tree, d) if tree.out_degree(n) == 0 and str(n).startswith(d))[
                :3
            ]
            if d in tree
            else []
            for d in assessment.dimensions
        }
        self.pool = [(e["code"], e["version"]) for e in assessment.pool]
        self.password_hash = generate_password_hash(DEMO_PASSWORD)

    def level(self, theta: float) -> str:
        return self.scale.codes[min(int(np.searchsorted(self.cuts, theta)), len(self.scale.codes) - 1)]

    def person(self, uid: int, username: str, inst_id: int, now) -> tuple:
        name = self.rng.choice(list(SURNAMES)) + "".join(self.rng.choice(list(GIVEN), size=2))
        teacher = self.role == "teacher"
        return (
            uid,
            username,
            name,
            self.password_hash,
            self.role,
            inst_id,
            "Asia/Shanghai",
            True,
            str(self.rng.choice(DEPARTMENTS)),
            str(self.rng.choice(["public_course", "specialty_course", "practical_training"]))
            if teacher
            else None,
            str(self.rng.choice(["novice", "proficient", "backbone", "expert"])) if teacher else None,
            None if teacher else str(self.rng.choice(PROGRAMMES)),
            None if teacher else int(self.rng.integers(1, 4)),
            0,
            now,
        )

    def attempt(self, aid: int, uid: int, now) -> tuple[tuple, list[tuple], list[tuple]]:
        ability = float(self.rng.normal())
        started = now - timedelta(
            days=float(self.rng.uniform(1, 20)), minutes=float(self.rng.uniform(0, 600))
        )
        finished = started + timedelta(minutes=float(self.rng.uniform(12, 40)))
        dims = []
        for d in self.dims:
            theta = round(ability + float(self.rng.normal(0, 0.5)), 3)
            dims.append({**d, "theta": theta, "se": round(float(self.rng.uniform(0.25, 0.4)), 3),
                         "level": self.level(theta), "items": 5})  # fmt: skip
        indicators = [
            {"code": code, "theta": round(ability + float(self.rng.normal(0, 0.8)), 3), "se": 0.7,
             "level": self.level(ability + float(self.rng.normal(0, 0.8))), "items": 2, "target": None, "met": None}
            for d in self.dims for code in self.indicators[d["code"]]
        ]  # fmt: skip
        overall = self.level(ability)
        n_items = min(len(self.pool), int(self.rng.integers(16, 25)))
        picks = self.rng.choice(len(self.pool), size=n_items, replace=False)
        result = {
            "assessment": self.assessment.code,
            "kind": self.assessment.kind,
            "scale": self.assessment.scale,
            "graph_version": self.assessment.graph_version,
            "dimensions": dims,
            "indicators": indicators,
            "overall_level": overall,
            "grade_rule": {},
            "stop_reason": "se_target",
            "items_answered": n_items,
            "timed_out": False,
            "finished_at": finished.isoformat(),
        }
        attempt = (
            aid,
            self.assessment.id,
            uid,
            "graded",
            started,
            finished,
            n_items + 1,
            {},
            {},
            {},
            self.assessment.graph_version,
            "se_target",
            result,
            overall,
        )
        step = (finished - started) / (n_items + 1)
        responses = []
        for position, j in enumerate(picks, start=1):
            code, version = self.pool[int(j)]
            score = int(self.rng.random() < 1 / (1 + np.exp(-(ability - float(self.rng.normal())))))
            responses.append(
                (aid, position, code, version, {"value": "A" if score else "B"}, score, False,
                 started + step * position)
            )  # fmt: skip
        levels = [(r["attempt_id"], r["kind"], r["code"], r["level"]) for r in rows_for(aid, result)]
        return attempt, responses, levels


USER_COLUMNS = ["id", "username", "display_name", "password_hash", "role", "institution_id", "timezone", "active", "department", "teacher_category", "career_stage", "programme", "year", "extra_time_percent", "created_at"]  # fmt: skip
ATTEMPT_COLUMNS = ["id", "assessment_id", "user_id", "status", "started_at", "finished_at", "position", "state", "engine", "param_versions", "graph_version", "stop_reason", "result", "overall_level"]  # fmt: skip
RESPONSE_COLUMNS = ["attempt_id", "position", "item_code", "param_version", "answer", "score", "pilot", "answered_at"]  # fmt: skip


def _cohort_sizes(total: int, size: int) -> Iterable[int]:
    size = size or total
    while total > 0:
        yield min(size, total)
        total -= size


def seed_scale(
    teachers: int,
    students: int,
    cohort_size: int = 0,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> ScaleReport:
    """Add the people, attempts, responses, cohorts and assignments; one commit per batch."""
    if teachers < 0 or students < 0 or cohort_size < 0:
        raise ServiceError("invalid_count", _("counts must be zero or more"), "teachers")
    began = time.perf_counter()
    inst, trainer, assessments = _demo()
    rng = np.random.default_rng(seed)
    report = ScaleReport()
    tag = db.session.scalar(select(func.count()).select_from(Cohort).where(Cohort.name.like("规模%"))) or 0
    now = utcnow()
    for role, count in (("teacher", teachers), ("student", students)):
        if not count:
            continue
        assessment = assessments[role]
        maker = _Maker(role, assessment, rng)
        prefix = f"scale-{role[0]}{tag:03d}-"
        made = 0
        for k, size in enumerate(_cohort_sizes(count, cohort_size)):
            cohort = Cohort(
                name=f"规模{'教师' if role == 'teacher' else '学生'}班 {tag:03d}-{k + 1}",
                description=f"seed-scale: {size} {role}s",
                institution_id=inst.id,
                owner_id=trainer.id,
            )
            db.session.add(cohort)
            db.session.flush()
            assignment = CohortAssignment(
                cohort_id=cohort.id,
                assessment_id=assessment.id,
                opens_at=now - timedelta(days=30),
                closes_at=now + timedelta(days=30),
                created_by_id=trainer.id,
            )
            db.session.add(assignment)
            audience = dict(assessment.audience or {})
            audience["cohort_ids"] = [*(audience.get("cohort_ids") or []), cohort.id]
            assessment.audience = audience
            db.session.flush()
            for start in range(0, size, BATCH):
                n = min(BATCH, size - start)
                uids = _reserve_ids(User.__table__, n)
                aids = _reserve_ids(Attempt.__table__, n)
                users, members, attempts, responses, levels = [], [], [], [], []
                for i, (uid, aid) in enumerate(zip(uids, aids, strict=True)):
                    users.append(maker.person(uid, f"{prefix}{made + i + 1:07d}", inst.id, now))
                    members.append((cohort.id, uid, None, now))
                    attempt, rows, result_levels = maker.attempt(aid, uid, now)
                    attempts.append(attempt)
                    responses.extend(rows)
                    levels.extend(result_levels)
                _write(User.__table__, USER_COLUMNS, users)
                _write(CohortMembership.__table__, ["cohort_id", "user_id", "layer", "joined_at"], members)
                _write(Attempt.__table__, ATTEMPT_COLUMNS, attempts)
                _write(Response.__table__, RESPONSE_COLUMNS, responses)
                _write(ResultLevel.__table__, ["attempt_id", "kind", "code", "level"], levels)
                db.session.commit()
                made += n
                report.attempts += n
                report.responses += len(responses)
                log(f"{role}s: {made}/{count}")
            report.cohorts.append((cohort.id, cohort.name, size, assignment.id))
            # COPY bypassed the flush hook that keeps the summary rows: count this cohort once.
            summary_rows.rebuild_assignment(db.session.connection(), assignment)
            cohort_profile_rows.rebuild(db.session.connection(), cohort.id)
            db.session.commit()
        setattr(report, f"{role}s", count)
    summary_rows.rebuild_institution(db.session.connection(), inst.id)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics after a bulk load, or the planner takes the new tables for empty ones.
        db.session.execute(
            text(
                "ANALYZE user_account, cohort_membership, cohort, attempt, response, result_level, "
                "assignment_member, assignment_level_count, institution_teacher, institution_level_count, "
                "cohort_profile_count"
            )
        )
        db.session.commit()
    report.seconds = time.perf_counter() - began
    return report
