"""Job-role profiles (岗位能力画像) and teacher categories/stages as immutable records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Industry:
    code: str
    name_zh: str
    name_en: str
    indicator: str  # the role-specific student indicator S6.x of this industry


@dataclass(frozen=True)
class Task:
    zh: str
    en: str


@dataclass(frozen=True)
class JobProfile:
    """A digital job role: ``requirements`` maps student indicator codes to target job levels."""

    code: str
    name_zh: str
    name_en: str
    industry: str
    industry_zh: str
    industry_en: str
    description_zh: str
    description_en: str
    typical_tasks: tuple[Task, ...]
    requirements: Mapping[str, str]
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "industry": self.industry,
            "industry_zh": self.industry_zh,
            "industry_en": self.industry_en,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
            "typical_tasks": [{"zh": t.zh, "en": t.en} for t in self.typical_tasks],
            "requirements": dict(self.requirements),
            "version": self.version,
        }


@dataclass(frozen=True)
class TeacherCategory:
    """公共基础课 / 专业课 (optionally for one key industry) / 实习指导（双师型）."""

    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    industry: str | None = None


@dataclass(frozen=True)
class CareerStage:
    """新手 / 熟练 / 骨干 / 专家."""

    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
