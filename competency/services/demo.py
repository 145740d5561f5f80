"""Demo content for `seed-demo`: institutions, one account per role, cohorts. Idempotent by natural keys.

Later parts of the platform (item bank, assessments, resources) register their own seed steps in
SEED_STEPS, so one command loads everything and a second run adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from competency.extensions import db
from competency.models import Cohort, CohortMembership, Institution, Role, User
from competency.services import accounts

DEMO_PASSWORD = "competency-demo"  # documented in the README; demo data only, never for production

DEMO_INSTITUTIONS = [
    {
        "name": "示范职业技术学院（演示）",
        "type": "higher_vocational",
        "region": "广东省深圳市",
        "industries": ["人工智能", "大数据", "新能源汽车", "软件和信息技术服务"],
    },
    {
        "name": "示范技师学院（演示）",
        "type": "technician_college",
        "region": "江苏省苏州市",
        "industries": ["智能制造", "工业互联网", "集成电路"],
    },
]

# (username, display name, role, institution index, profile)
DEMO_ACCOUNTS: list[tuple[str, str, str, int | None, dict]] = [
    ("admin", "平台管理员", Role.PLATFORM_ADMIN, None, {}),
    ("school_admin", "林校长（院校管理员）", Role.INSTITUTION_ADMIN, 0, {}),
    ("trainer", "周老师（培训师）", Role.TRAINER, 0, {}),
    (
        "teacher",
        "王老师",
        Role.TEACHER,
        0,
        {"teacher_category": "specialty_course", "career_stage": "proficient", "department": "信息工程学院"},
    ),
    ("student", "李同学", Role.STUDENT, 0, {"programme": "大数据技术", "year": 2, "target_role": "J-BD-01"}),
    ("tech_admin", "陈主任（院校管理员）", Role.INSTITUTION_ADMIN, 1, {}),
    ("tech_trainer", "赵老师（培训师）", Role.TRAINER, 1, {}),
    ("officer", "郑老师（中心工作人员）", Role.PROGRAMME_OFFICER, None, {}),
    ("expert", "钱教授（评审专家）", Role.EXPERT, None, {}),
    ("expert2", "孙工程师（评审专家）", Role.EXPERT, None, {}),
    ("expert3", "冯研究员（评审专家）", Role.EXPERT, None, {}),
]

_TEACHER_NAMES = ["张敏", "刘洋", "陈静", "杨帆", "黄磊", "吴婷", "徐强", "孙丽", "马超", "朱琳"]
_TEACHER_PROFILES = [
    ("public_course", "novice", "公共基础部"),
    ("specialty_course", "proficient", "信息工程学院"),
    ("practical_training", "backbone", "汽车工程学院"),
    ("specialty_course", "expert", "智能制造学院"),
    ("public_course", "proficient", "公共基础部"),
]
_STUDENT_NAMES = [
    "何佳",
    "高远",
    "林晨",
    "罗欣",
    "郑凯",
    "梁雪",
    "谢宇",
    "宋琪",
    "唐睿",
    "韩露",
    "冯博",
    "曹颖",
]
_STUDENT_PROGRAMMES = [
    ("大数据技术", "J-BD-01"),
    ("人工智能技术应用", "J-AI-01"),
    ("新能源汽车技术", "J-NEV-01"),
    ("软件技术", "J-SW-01"),
]


def _extra_accounts() -> list[tuple[str, str, str, int | None, dict]]:
    rows = []
    for i, name in enumerate(_TEACHER_NAMES):
        category, stage, dept = _TEACHER_PROFILES[i % len(_TEACHER_PROFILES)]
        profile = {"teacher_category": category, "career_stage": stage, "department": dept}
        rows.append((f"teacher{i + 1:02d}", f"{name}老师", Role.TEACHER, 0, profile))
    for i, name in enumerate(_STUDENT_NAMES):
        programme, role_code = _STUDENT_PROGRAMMES[i % len(_STUDENT_PROGRAMMES)]
        profile = {"programme": programme, "year": 1 + i % 3, "target_role": role_code}
        rows.append((f"student{i + 1:02d}", f"{name}同学", Role.STUDENT, 0, profile))
    return rows


def seed_accounts(log: Callable[[str], None]) -> None:
    institutions: list[Institution] = []
    for spec in DEMO_INSTITUTIONS:
        inst = db.session.scalar(select(Institution).where(Institution.name == spec["name"]))
        if inst is None:
            inst = Institution(**spec)
            db.session.add(inst)
            db.session.flush()
            log(f"institution {spec['name']}")
        institutions.append(inst)
    created = 0
    for username, display, role, inst_index, profile in DEMO_ACCOUNTS + _extra_accounts():
        if db.session.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        inst = institutions[inst_index] if inst_index is not None else None
        accounts.create_user(
            username,
            DEMO_PASSWORD,
            role,
            display_name=display,
            institution=inst,
            commit=False,
            check_password=False,  # the documented demo password; seed-demo refuses production
            **profile,
        )
        created += 1
    db.session.flush()
    if created:
        log(f"{created} demo accounts")
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    cohort_specs = [
        ("2026 秋季教师数字素养提升班", "teacher"),
        ("大数据技术 2024 级 1 班", "student"),
    ]
    for name, prefix in cohort_specs:
        cohort = db.session.scalar(
            select(Cohort).where(Cohort.name == name, Cohort.institution_id == institutions[0].id)
        )
        if cohort is not None:
            continue
        cohort = Cohort(
            name=name, institution_id=institutions[0].id, owner_id=trainer.id, description="演示班级"
        )
        db.session.add(cohort)
        db.session.flush()
        members = db.session.scalars(
            select(User).where(User.username.like(f"{prefix}%"), User.institution_id == institutions[0].id)
        )
        for member in members:
            db.session.add(CohortMembership(cohort_id=cohort.id, user_id=member.id))
        log(f"cohort {name}")


def _seed_items(log: Callable[[str], None]) -> None:
    from competency.services.items import seed_demo_bank

    seed_demo_bank(log)


def _seed_assessments(log: Callable[[str], None]) -> None:
    from competency.services.demo_assessments import seed_demo_assessments

    seed_demo_assessments(log)


def _seed_simulated_responses(log: Callable[[str], None]) -> None:
    from competency.services.demo_responses import seed_demo_responses

    seed_demo_responses(log)


def _seed_resources(log: Callable[[str], None]) -> None:
    from competency.services.resources import seed_resources

    seed_resources(log)


def _seed_maturity(log: Callable[[str], None]) -> None:
    from competency.services.maturity_demo import seed_maturity_demo

    seed_maturity_demo(log)
def _seed_pilots(log: Callable[[str], None]) -> None:
    from competency.services.pilot_demo import seed_pilots

    seed_pilots(log)


SEED_STEPS: list[Callable[[Callable[[str], None]], None]] = [
    seed_accounts,
    _seed_items,
    _seed_assessments,
    _seed_simulated_responses,
    _seed_resources,
    _seed_maturity,
    _seed_pilots,
]


def seed_demo(log: Callable[[str], None] = print) -> None:
    """Load every demo step in one transaction: a failure leaves the database as it was."""
    try:
        for step in SEED_STEPS:
            step(log)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
