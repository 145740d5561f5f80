"""Summary rows kept up to date with each graded result, so dashboards read O(groups), not O(people).

Counts live in *_level_count tables; the *_member / *_teacher tables say which attempt each person
contributes (so a new result can take the old one's counts away). Empty strings stand for "none" in
key columns (a primary key cannot hold NULL).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from competency.models.base import Base, UTCDateTime, utcnow


class SummaryScope(Base):
    """One row per summarised assignment ("a:<id>") or institution ("i:<id>"): it exists once the
    summary was built, and its row lock orders the updates of one scope."""

    __tablename__ = "summary_scope"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentLevelCount(Base):
    """Members of an assignment's cohort per (kind, code, level) of their chosen result: kind "s" counts
    members who started (code "started"), "o" the overall level, "d" dimensions, "i" indicators."""

    __tablename__ = "assignment_level_count"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("cohort_assignment.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    members: Mapped[int] = mapped_column(Integer, default=0)


class AssignmentMember(Base):
    """A member who started the assignment, and the graded attempt their counts come from (if any)."""

    __tablename__ = "assignment_member"

    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("cohort_assignment.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    graded_attempt_id: Mapped[int | None] = mapped_column(Integer)


class InstitutionLevelCount(Base):
    """Teachers of an institution per department, category, career stage and latest overall level."""

    __tablename__ = "institution_level_count"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(120), primary_key=True)
    teacher_category: Mapped[str] = mapped_column(String(32), primary_key=True)
    career_stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    teachers: Mapped[int] = mapped_column(Integer, default=0)


class InstitutionTeacher(Base):
    """Where a teacher is counted in their institution's summary (the values counted, and the attempt)."""

    __tablename__ = "institution_teacher"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(120))
    teacher_category: Mapped[str] = mapped_column(String(32))
    career_stage: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    attempt_id: Mapped[int] = mapped_column(Integer)


class CohortProfileCount(Base):
    """Members of a cohort per (role, target job role, specialty industry): what fits the cohort
    (services.cohort_fit) reads these few rows instead of every member."""

    __tablename__ = "cohort_profile_count"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    target_role: Mapped[str] = mapped_column(String(32), primary_key=True)
    specialty_industry: Mapped[str] = mapped_column(String(64), primary_key=True)
    members: Mapped[int] = mapped_column(Integer, default=0)
