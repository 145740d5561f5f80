"""Demo content of the pilot programme (seed-demo): one closed call whose applications stand in every
state (reviews done, a public notice, designated units), and one open call. Idempotent by call title.

The closed call's history lies in the past, so it is written as the finished record (the services
refuse back-dated changes by design); the scores and the ranking still go through the same rules
(trimmed mean, weights, tie order) as live use. The maturity-diagnosis results attached here are demo
snapshots in the shape of `maturity_summary.latest_summary`, marked ``"demo": true``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from competency.extensions import db
from competency.models import (
    ExpertTie,
    Institution,
    PilotApplication,
    PilotCall,
    PilotObjection,
    PilotReview,
    User,
    utcnow,
)
from competency.services.pilot_calls import DEFAULT_PROCEDURE, DEFAULT_RUBRIC
from competency.services.pilot_designations import new_designation
from competency.services.pilot_form import ELIGIBLE_TYPES, FIELD_KEYS
from competency.services.pilot_reviews import trimmed_mean
from competency.services.pilot_selection import final_score, rank_key

CLOSED_TITLE = "2026 年度数字化人才培养试点单位遴选（第一批）"
OPEN_TITLE = "2027 年度数字化人才培养试点单位遴选（第二批）"
ALL_INDUSTRIES = ["IIOT", "AI", "BD", "IOT", "SW", "5G", "SEC", "IC", "IM", "NEV"]

# name, type, region, industries, status, diagnosis score, expert totals (one per expert)
APPLICANTS = [
    (
        "示范职业技术学院（演示）",
        "higher_vocational",
        "广东省深圳市",
        ["AI", "BD"],
        "designated",
        82.0,
        (86, 84, 88),
    ),
    (
        "粤港智造科技有限公司（演示）",
        "enterprise",
        "广东省广州市",
        ["IM", "IIOT"],
        "designated",
        78.5,
        (83, 80, 85),
    ),
    (
        "江南应用技术大学（演示）",
        "applied_university",
        "江苏省南京市",
        ["SW", "SEC"],
        "designated",
        80.0,
        (79, 82, 81),
    ),
    (
        "西部信息职业学院（演示）",
        "higher_vocational",
        "四川省成都市",
        ["5G", "IOT"],
        "objection_upheld",
        74.0,
        (80, 78, 79),
    ),
    (
        "华东新能源汽车有限公司（演示）",
        "enterprise",
        "浙江省宁波市",
        ["NEV"],
        "not_selected",
        70.0,
        (88, 60, 75),
    ),
    (
        "北方中等职业学校（演示）",
        "secondary_vocational",
        "河北省石家庄市",
        ["BD"],
        "not_selected",
        65.0,
        (66, 70, 64),
    ),
    (
        "中原数据职业技术学院（演示）",
        "higher_vocational",
        "河南省郑州市",
        ["BD", "AI"],
        "in_review",
        72.0,
        (74, None, None),
    ),
    ("滨海集成电路有限公司（演示）", "enterprise", "天津市", ["IC"], "diagnosing", None, ()),
    ("川渝物联网职业学院（演示）", "higher_vocational", "重庆市", ["IOT"], "diagnosed", 68.0, ()),
    ("湘江技工学校（演示）", "technician_college", "湖南省长沙市", ["IM"], "screened", None, ()),
    (
        "示范技师学院（演示）",
        "technician_college",
        "江苏省苏州市",
        ["IM", "IIOT", "IC"],
        "returned",
        None,
        (),
    ),
    ("东北机电技工学校（演示）", "technician_college", "辽宁省沈阳市", ["IM"], "rejected", None, ()),
    ("闽南软件职业学院（演示）", "higher_vocational", "福建省厦门市", ["SW"], "withdrawn", None, ()),
    ("黔中中等职业学校（演示）", "secondary_vocational", "贵州省贵阳市", ["5G"], "draft", None, ()),
]
STAGE_OF = {
    "draft": 0,
    "withdrawn": 0,
    "returned": 1,
    "rejected": 1,
    "screened": 2,
    "diagnosing": 2,
    "diagnosed": 3,
    "in_review": 3,
    "not_selected": 4,
    "objection_upheld": 5,
    "designated": 6,
}


def _form(name: str, kind: str, region: str, industries: list[str], complete: bool = True) -> dict:
    form = {
        "unit_name": name,
        "unit_address": f"{region}示范路 1 号",
        "legal_representative": "张明",
        "institution_type": kind,
        "industries": industries,
        "development_plan": "立足区域数字经济发展需求，建设数字化人才培养与评价中心，三年内形成可推广的培养模式。",
        "base_site": "实训场地 3,200 平方米，含数字化实训室 12 间。",
        "base_equipment": "实训设备总值 2,800 万元，工位 640 个。",
        "base_textbooks": "出版数字化教材 6 部，新形态教材 4 部。",
        "base_videos": "自建教学视频 1,200 余条，累计时长 300 小时。",
        "base_courses": "在线开放课程 15 门，其中省级精品课程 3 门。",
        "projects": [
            {
                "partner": "数智科技股份有限公司",
                "period": "2023.09–2026.08",
                "outcomes": "共建产业学院，联合培养学生 420 人。",
            },
        ],
        "guarantee_management": "成立由主要负责人牵头的领导小组，设专门管理办公室。",
        "guarantee_operation": "建立校企双主体运行、经费单列、年度考核机制。",
        "contact_name": "刘老师",
        "contact_phone": "0755-12345678",
        "contact_email": "pilot-demo@example.edu.cn",
    }
    if not complete:
        form["guarantee_operation"] = ""
        form["projects"] = []
    return form


def _diagnosis(score: float, round_id: int, closed_at) -> dict:
    level = 1 + min(4, int(score // 20))
    areas = [
        ("strategy", "战略与领导", "Strategy and leadership"),
        ("infrastructure", "基础设施", "Infrastructure"),
        ("teaching", "教学与资源", "Teaching and resources"),
        ("people", "师资与能力", "People and capability"),
    ]
    return {
        "demo": True,
        "round_id": round_id,
        "closed_at": closed_at.isoformat(),
        "overall_level": level,
        "overall_score": score,
        "areas": [
            {"code": code, "name_zh": zh, "name_en": en, "level": level, "score": round(score + offset, 1)}
            for (code, zh, en), offset in zip(areas, (3, -4, 2, -1), strict=True)
        ],
        "report_url": "",
    }


def _institution(name: str, kind: str, region: str, industries: list[str]) -> Institution:
    inst = db.session.scalar(select(Institution).where(Institution.name == name))
    if inst is None:
        inst = Institution(name=name, type=kind, region=region, industries=industries)
        db.session.add(inst)
        db.session.flush()
    return inst


def seed_pilots(log: Callable[[str], None]) -> None:
    if db.session.scalar(select(PilotCall.id).where(PilotCall.title == CLOSED_TITLE)) is not None:
        return
    now = utcnow().replace(microsecond=0)
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    experts = list(
        db.session.scalars(
            select(User).where(User.username.in_(["expert", "expert2", "expert3"])).order_by(User.username)
        )
    )
    closed = PilotCall(
        title=CLOSED_TITLE,
        description="面向应用型本科、中高职、技工院校和优质企业，遴选数字化人才培养试点单位。申报单位须完成成熟度自评诊断。",
        eligible_types=list(ELIGIBLE_TYPES),
        industries=ALL_INDUSTRIES,
        required_fields=list(FIELD_KEYS),
        required_attachments=["stamped_scan"],
        opens_at=now - timedelta(days=120),
        closes_at=now - timedelta(days=90),
        quota=4,
        rubric=DEFAULT_RUBRIC,
        weight_diagnosis=40,
        spread_threshold=20.0,
        notice_starts_at=now - timedelta(days=40),
        notice_ends_at=now - timedelta(days=33),
        objection_procedure=DEFAULT_PROCEDURE,
        created_by=officer.id if officer else None,
    )
    db.session.add(closed)
    db.session.flush()
    technician = None
    reviewed: list[PilotApplication] = []
    for number, (name, kind, region, inds, status, diag, totals) in enumerate(APPLICANTS):
        inst = _institution(name, kind, region, inds)
        if name.startswith("示范技师学院"):
            technician = inst
        stage = STAGE_OF[status]
        submitted_at = closed.opens_at + timedelta(days=5 + number) if stage >= 1 else None
        app = PilotApplication(
            call_id=closed.id,
            institution_id=inst.id,
            status=status,
            form=_form(name, kind, region, inds, complete=status not in ("draft", "returned")),
            submitted_at=submitted_at,
            created_at=closed.opens_at + timedelta(days=2 + number),
            updated_at=submitted_at or closed.opens_at + timedelta(days=3 + number),
        )
        checks = {
            k: True
            for k in (
                "materials_complete",
                "eligible_type",
                "industry_match",
                "base_conditions",
                "project_experience",
                "guarantees",
            )
        }
        at = (closed.closes_at + timedelta(days=3)).isoformat()
        if status == "returned":
            entry = {
                "decision": "return",
                "checklist": {**checks, "materials_complete": False, "guarantees": False},
                "reasons": "请补充“运营机制”说明和至少一项产教融合项目（合作企业、期限、成果）。",
                "by": officer.id if officer else None,
                "at": at,
            }
            app.screening, app.fix_by = {**entry, "history": [entry]}, now + timedelta(days=10)
        elif status == "rejected":
            entry = {
                "decision": "reject",
                "checklist": {**checks, "industry_match": False, "project_experience": False},
                "reasons": "申报领域与本批次重点领域不符，且无产教融合项目经历。",
                "by": officer.id if officer else None,
                "at": at,
            }
            app.screening = {**entry, "history": [entry]}
        elif stage >= 2:
            entry = {
                "decision": "pass",
                "checklist": checks,
                "reasons": "",
                "by": officer.id if officer else None,
                "at": at,
            }
            app.screening = {**entry, "history": [entry]}
        if status == "diagnosing":
            app.diagnosis_round_id = 9000 + number
        if diag is not None:
            closed_at = closed.closes_at + timedelta(days=10)
            app.diagnosis = _diagnosis(diag, 9000 + number, closed_at)
            app.diagnosis_round_id, app.diagnosis_score = 9000 + number, diag
        db.session.add(app)
        db.session.flush()
        for expert, total in zip(experts, totals, strict=False):
            review = PilotReview(
                application_id=app.id, expert_id=expert.id, assigned_at=closed.closes_at + timedelta(days=15)
            )
            if total is not None:
                scores = _split(total)
                review.scores = scores
                review.comments = {
                    c["code"]: "材料翔实，论证充分；建议进一步量化建设目标。" for c in DEFAULT_RUBRIC
                }
                review.total = float(sum(scores.values()))
                review.submitted_at = closed.closes_at + timedelta(days=20)
            db.session.add(review)
        if totals and all(t is not None for t in totals):
            app.expert_score = round(trimmed_mean([float(t) for t in totals]), 2)
            app.spread = float(max(totals) - min(totals))
            app.spread_flag = app.spread > closed.spread_threshold
            if app.spread_flag:
                app.panel_note = "专家组会商：分差源于对企业合作成效的不同理解，经讨论维持三位专家原评分，按截尾规则取均值。"
            reviewed.append(app)
        if status == "withdrawn":
            app.submitted_at = None
    # Rank the reviewed applications by the call's weights; the top four were selected.
    reviewed.sort(key=lambda a: rank_key(a, closed))
    for rank, app in enumerate(reviewed, start=1):
        app.rank, app.final_score = rank, final_score(app, closed)
    db.session.flush()
    for app in reviewed:
        if app.status == "objection_upheld":
            db.session.add(
                PilotObjection(
                    application_id=app.id,
                    name="王先生",
                    contact="wang@example.com",
                    text="该单位申报材料中所列合作企业项目已于 2024 年终止，与申报表所述不符。",
                    submitted_at=closed.notice_starts_at + timedelta(days=2),
                    status="upheld",
                    resolution="经核实，所列校企合作项目已终止，申报材料与事实不符，异议成立，取消其试点资格。",
                    resolved_at=closed.notice_starts_at + timedelta(days=5),
                    resolved_by=officer.id if officer else None,
                )
            )
        if app.status == "designated":
            new_designation(app, closed.notice_ends_at + timedelta(days=3))
    # A dismissed objection, too, on the first designated unit.
    first = next(a for a in reviewed if a.status == "designated")
    db.session.add(
        PilotObjection(
            application_id=first.id,
            name="李女士",
            contact="138-0000-0000",
            text="该校实训设备数量是否属实？",
            submitted_at=closed.notice_starts_at + timedelta(days=1),
            status="dismissed",
            resolution="经现场核查，设备台账与申报一致，异议不成立。",
            resolved_at=closed.notice_starts_at + timedelta(days=4),
            resolved_by=officer.id if officer else None,
        )
    )
    if technician is not None and experts:
        # expert3 declared a tie with the technician college: the assignment page excludes them there.
        tie_holder = experts[-1]
        if (
            db.session.scalar(
                select(ExpertTie.id).where(
                    ExpertTie.expert_id == tie_holder.id, ExpertTie.institution_id == technician.id
                )
            )
            is None
        ):
            db.session.add(
                ExpertTie(
                    expert_id=tie_holder.id,
                    institution_id=technician.id,
                    note="曾任该校兼职教授（2022–2024）",
                )
            )
    open_call = PilotCall(
        title=OPEN_TITLE,
        description="第二批遴选，欢迎符合条件的院校和企业申报。请在截止时间前提交申报表及盖章扫描件。",
        eligible_types=list(ELIGIBLE_TYPES),
        industries=ALL_INDUSTRIES,
        required_fields=list(FIELD_KEYS),
        required_attachments=["stamped_scan"],
        opens_at=now - timedelta(days=5),
        closes_at=now + timedelta(days=40),
        quota=6,
        rubric=DEFAULT_RUBRIC,
        weight_diagnosis=40,
        spread_threshold=20.0,
        objection_procedure=DEFAULT_PROCEDURE,
        created_by=officer.id if officer else None,
    )
    db.session.add(open_call)
    db.session.flush()
    log(f"pilot calls: 1 closed with {len(APPLICANTS)} applications, 1 open")


def _split(total: int) -> dict[str, float]:
    """Points per criterion in proportion to its maximum, adding up to `total`."""
    scores = {c["code"]: float(int(total * c["max"] / 100)) for c in DEFAULT_RUBRIC}
    scores[DEFAULT_RUBRIC[0]["code"]] += total - sum(scores.values())
    return scores
