"""Institutions, people, cohorts and credentials."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.base import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    INSTITUTION_ADMIN = "institution_admin"
    TRAINER = "trainer"
    TEACHER = "teacher"
    STUDENT = "student"
    EXPERT = "expert"  # 评审专家: rates maturity evidence and reviews pilot applications assigned to them
    PROGRAMME_OFFICER = "programme_officer"  # 中心工作人员: runs calls for pilot applications


# Roles that work across institutions: an account of these may belong to no institution (an expert may
# still name one, which the conflict-of-interest rules use).
PLATFORM_WIDE_ROLES = frozenset({"platform_admin", "expert", "programme_officer"})


class InstitutionType(enum.StrEnum):
    SECONDARY_VOCATIONAL = "secondary_vocational"  # 中职
    HIGHER_VOCATIONAL = "higher_vocational"  # 高职
    TECHNICIAN_COLLEGE = "technician_college"  # 技工院校
    APPLIED_UNIVERSITY = "applied_university"  # 应用型本科
    ENTERPRISE = "enterprise"  # 企业


class TeacherCategory(enum.StrEnum):
    PUBLIC_COURSE = "public_course"  # 公共基础课
    SPECIALTY_COURSE = "specialty_course"  # 专业课
    PRACTICAL_TRAINING = "practical_training"  # 实习指导 / 双师型


class CareerStage(enum.StrEnum):
    NOVICE = "novice"  # 新手
    PROFICIENT = "proficient"  # 熟练
    BACKBONE = "backbone"  # 骨干
    EXPERT = "expert"  # 专家


def _enum_check(
    name: str, column: str, values: type[enum.StrEnum], nullable: bool = False
) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    expr = f"{column} IN ({allowed})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=name)


class Institution(Base):
    __tablename__ = "institution"
    __table_args__ = (_enum_check("type_valid", "type", InstitutionType),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(100), default="")
    industries: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="institution")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        _enum_check("role_valid", "role", Role),
        _enum_check("teacher_category_valid", "teacher_category", TeacherCategory, nullable=True),
        _enum_check("career_stage_valid", "career_stage", CareerStage, nullable=True),
        CheckConstraint("extra_time_percent >= 0 AND extra_time_percent <= 200", name="extra_time_range"),
        # Keyset pages of people: an institution's by user name, anyone's by name.
        Index("ix_user_account_institution_username", "institution_id", "username"),
        Index("ix_user_account_display_name_id", "display_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    department: Mapped[str | None] = mapped_column(String(120))
    # Teachers (JY/T 0646 classification: category × career stage).
    teacher_category: Mapped[str | None] = mapped_column(String(32))
    career_stage: Mapped[str | None] = mapped_column(String(32))
    specialty_industry: Mapped[str | None] = mapped_column(String(64))
    # Students.
    programme: Mapped[str | None] = mapped_column(String(120))
    year: Mapped[int | None] = mapped_column(Integer)
    target_role: Mapped[str | None] = mapped_column(String(32))
    # Accommodation: per-person extra time on timed assessments, in percent of the limit.
    extra_time_percent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Raised to end every session and token of the person at once (logout, password change,
    # deactivation, admin reset, "sign out everywhere"); a session carries the number it began with.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Set by an admin's reset: the person must choose a new password before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution: Mapped[Institution | None] = relationship(back_populates="users")

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The session stores "id:version": raising the version makes every earlier session unknown.
        return f"{self.id}:{self.session_version or 1}"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class Cohort(Base):
    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()
    owner: Mapped[User | None] = relationship()
    memberships: Mapped[list[CohortMembership]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )


class CohortMembership(Base):
    __tablename__ = "cohort_membership"
    # A person's cohorts (the summary rows find them when a result is graded).
    __table_args__ = (Index("ix_cohort_membership_user_id", "user_id"),)

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    layer: Mapped[str | None] = mapped_column(String(32))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token; only its SHA-256 digest is stored, so a database leak reveals no usable token."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful logins, kept in the database so the rate limit holds across workers and hosts."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RateCounter(Base):
    """A fixed-window counter for one throttling key ("login:name:…", "login-ip:…", "verify:…").

    Counted with one INSERT … ON CONFLICT DO UPDATE … RETURNING statement (services.rate_limits), so
    concurrent requests on any worker each see a distinct count and a limit cannot be overshot.
    """

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


# Optional answers a person may give for fairness (DIF) analysis. The codes are platform-defined; 专业大类
# follows the 19 categories of the 2021 vocational programme catalogue (职业教育专业目录).
GENDERS = ("female", "male", "other")
REGIONS = ("north", "northeast", "east", "central", "south", "southwest", "northwest")
MAJOR_CATEGORIES = (
    "agriculture",  # 农林牧渔
    "resources_environment",  # 资源环境与安全
    "energy_materials",  # 能源动力与材料
    "civil_engineering",  # 土木建筑
    "water",  # 水利
    "equipment_manufacturing",  # 装备制造
    "biology_chemistry",  # 生物与化工
    "light_textile",  # 轻工纺织
    "food_drugs_grain",  # 食品药品与粮食
    "transport",  # 交通运输
    "electronics_it",  # 电子与信息
    "medicine_health",  # 医药卫生
    "finance_commerce",  # 财经商贸
    "tourism",  # 旅游
    "culture_arts",  # 文化艺术
    "media",  # 新闻传播
    "education_sports",  # 教育与体育
    "public_security_justice",  # 公安与司法
    "public_services",  # 公共管理与服务
)
FAIRNESS_FIELDS = ("gender", "institution_type", "region", "major_category")


class FairnessProfile(Base):
    """A person's optional, consented answers for fairness (DIF) analysis.

    Kept apart from the account so no list, export or profile view of people reads it by accident:
    only the person's own account page and calibration (which uses it in aggregate) touch this table.
    Without consent no answer is kept; withdrawing consent deletes the answers.
    """

    __tablename__ = "fairness_profile"
    __table_args__ = (
        _enum_check("gender_valid", "gender", enum.StrEnum("G", {g: g for g in GENDERS}), nullable=True),
        _enum_check("institution_type_valid", "institution_type", InstitutionType, nullable=True),
        _enum_check("region_valid", "region", enum.StrEnum("R", {r: r for r in REGIONS}), nullable=True),
        _enum_check(
            "major_category_valid",
            "major_category",
            enum.StrEnum("M", {m: m for m in MAJOR_CATEGORIES}),
            nullable=True,
        ),
        CheckConstraint(
            "consent OR (gender IS NULL AND institution_type IS NULL AND region IS NULL "
            "AND major_category IS NULL)",
            name="answers_need_consent",
        ),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gender: Mapped[str | None] = mapped_column(String(16))
    institution_type: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(16))
    major_category: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
