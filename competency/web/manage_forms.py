"""The assessment definition form and its conversion to the model's fields."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from competency import graph
from competency.models import Assessment
from competency.services import grading
from competency.web.forms import choices

KINDS = {
    "teacher_graded": _l("Teacher graded literacy assessment"),
    "student_literacy": _l("Student literacy evaluation"),
    "job_skill": _l("Student job-skill evaluation"),
}
SELECTORS = {
    "mfi": _l("Maximum Fisher information (D-optimal when multidimensional)"),
    "pwi": _l("Posterior-weighted information"),
    "kl": _l("Kullback–Leibler"),
    "astrat": _l("a-stratified"),
}
RULES = {
    "composite": _l("Composite, capped above the weakest dimension"),
    "minimum": _l("Lowest dimension"),
    "majority": _l("Level reached by most dimensions"),
}


# Sensible starting values per kind of assessment (the demo assessments were tuned with them by
# simulation): a new form is filled with the chosen kind's values; every field stays editable.
KIND_DEFAULTS: dict[str, dict] = {
    "teacher_graded": {
        "dimensions": ["T1", "T2", "T3", "T4", "T5"],
        "audience_roles": ["teacher"],
        "selector": "mfi",
        "estimator": "eap",
        "mcat": True,
        "prior_correlation": 0.7,
        "se_target": 0.5,
        "min_items": 15,
        "max_items": 30,
        "per_dimension_min": 3,
        "randomesque": 3,
        "max_exposure": 0.4,
        "cuts": "-1.5, -0.75, 0, 0.75, 1.5",
        "time_limit_minutes": 45,
    },
    "student_literacy": {
        "dimensions": ["S0", "S1", "S2", "S3", "S4", "S5"],
        "audience_roles": ["student"],
        "selector": "mfi",
        "estimator": "eap",
        "mcat": True,
        "prior_correlation": 0.6,
        "se_target": 0.6,
        "min_items": 12,
        "max_items": 24,
        "per_dimension_min": 2,
        "randomesque": 1,
        "max_exposure": None,
        "cuts": "-1, 0, 1",
        "time_limit_minutes": 40,
    },
    "job_skill": {
        "dimensions": [],
        "audience_roles": ["student"],
        "selector": "mfi",
        "estimator": "eap",
        "mcat": False,
        "prior_correlation": 0.7,
        "se_target": 0.4,
        "min_items": 8,
        "max_items": 20,
        "per_dimension_min": 0,
        "randomesque": 2,
        "max_exposure": None,
        "cuts": "-1, 0, 1",
        "time_limit_minutes": 30,
    },
}

# Plain-language help for every psychometric field of the form.
HELP = {
    "selector": _l(
        "How the next question is picked. Maximum Fisher information picks the question that tells the most "
        "about a person at their current estimate; it is the usual choice. Posterior-weighted information and "
        "Kullback–Leibler are safer early in a test, when the estimate is still rough; a-stratified saves the "
        "most discriminating questions for later and spreads use across the bank."
    ),
    "estimator": _l(
        "How the ability estimate (θ) is worked out from the answers. EAP (expected a posteriori) starts from "
        "the average person and is stable even after all-right or all-wrong answers: recommended. MAP is "
        "similar; ML uses the answers alone and cannot give a value until there is at least one right and one "
        "wrong answer."
    ),
    "mcat": _l(
        "Estimate all dimensions together: an answer on one dimension also informs the related ones, so the "
        "test can be shorter for the same precision. Recommended when several correlated dimensions are measured."
    ),
    "prior_correlation": _l(
        "How strongly the dimensions are assumed to go together (0 = not at all, 0.95 = almost the same). "
        "0.6–0.7 suits digital-literacy dimensions; used only when dimensions are estimated together. "
        "Leave it empty to use the correlations of the latest published calibration (kept as they are when "
        "a calibrated draft is edited)."
    ),
    "se_target": _l(
        "The test stops once the estimate is this precise. The standard error is the typical distance between "
        "the estimate and the true value on the θ scale, where one level spans about 0.75: 0.4 gives a "
        "dependable level, 0.3 a very precise one with more questions, 0.6 a quick screening."
    ),
    "min_items": _l("No one stops before this many questions, even if the precision is reached early."),
    "max_items": _l("No one gets more than this many questions, even if the precision is not yet reached."),
    "randomesque": _l(
        "Pick at random among the k most informative questions instead of always the best one, so that people "
        "taking the test at the same time see different questions. 1 = always the best; 2–3 costs little precision."
    ),
    "max_exposure": _l(
        "The largest share of test takers who may see any one question (0.4 = at most 40 %). Protects the bank "
        "when many people take the test; leave empty for small groups."
    ),
    "cuts": _l(
        "Where one level ends and the next begins on the θ scale (0 = the average person, most people lie "
        "between −2 and 2). Teacher scale: 5 cuts for L1–L6 (default −1.5, −0.75, 0, 0.75, 1.5). Job scale: "
        "3 cuts for J0–J3 (default −1, 0, 1)."
    ),
    "grade_rule": _l(
        "How the dimension levels combine into the overall level. Composite: the weighted average, but at most "
        "one level above the weakest dimension. Lowest: the weakest dimension decides. Majority: the level most "
        "dimensions reached."
    ),
}


def apply_kind_defaults(form: AssessmentForm, kind: str) -> None:
    """Fill a new form with the starting values for ``kind``."""
    form.kind.data = kind
    for name, value in KIND_DEFAULTS[kind].items():
        getattr(form, name).data = value


def _cuts(text: str) -> list[float]:
    parts = [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]
    return [float(p) for p in parts]


class AssessmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9._-]+$")])
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=200)])
    description_zh = TextAreaField(_l("Description (Chinese)"), validators=[Optional(), Length(max=2000)])
    description_en = TextAreaField(_l("Description (English)"), validators=[Optional(), Length(max=2000)])
    kind = SelectField(_l("Kind"), choices=choices(KINDS.items()))
    role_code = SelectField(_l("Job role (job-skill evaluations)"), choices=[])
    dimensions = SelectMultipleField(_l("Dimensions measured"), choices=[])
    selector = SelectField(_l("Item selection"), choices=choices(SELECTORS.items()))
    estimator = SelectField(
        _l("Ability estimate"), choices=choices([("eap", "EAP"), ("map", "MAP"), ("ml", "ML")])
    )
    mcat = BooleanField(_l("Multidimensional CAT (dimensions estimated together)"))
    prior_correlation = FloatField(
        _l("Assumed correlation between dimensions"),
        default=0.7,
        validators=[Optional(), NumberRange(min=0, max=0.95)],
    )
    se_target = FloatField(
        _l("Stop when the standard error is below"),
        default=0.4,
        validators=[DataRequired(), NumberRange(min=0.1, max=1.5)],
    )
    min_items = IntegerField(
        _l("Minimum questions"), default=10, validators=[DataRequired(), NumberRange(min=1, max=200)]
    )
    max_items = IntegerField(
        _l("Maximum questions"), default=30, validators=[DataRequired(), NumberRange(min=1, max=200)]
    )
    per_dimension_min = IntegerField(
        _l("Minimum questions per dimension"), default=0, validators=[Optional(), NumberRange(min=0, max=50)]
    )
    randomesque = IntegerField(
        _l("Choose at random among the best k items (exposure)"),
        default=1,
        validators=[DataRequired(), NumberRange(min=1, max=10)],
    )
    max_exposure = FloatField(
        _l("Maximum exposure rate (empty: no limit)"), validators=[Optional(), NumberRange(min=0.05, max=1)]
    )
    cuts = StringField(_l("θ cut scores between levels, lowest first"), validators=[DataRequired()])
    grade_rule = SelectField(_l("Overall grade rule"), choices=choices(RULES.items()))
    time_limit_minutes = IntegerField(
        _l("Time limit in minutes (empty: none)"), validators=[Optional(), NumberRange(min=1, max=600)]
    )
    max_attempts = IntegerField(
        _l("Attempts allowed"), default=3, validators=[DataRequired(), NumberRange(min=1, max=20)]
    )
    wait_hours = FloatField(
        _l("Hours to wait between attempts"), default=0, validators=[Optional(), NumberRange(min=0, max=8760)]
    )
    opens_at = DateTimeLocalField(_l("Opens (local time)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    closes_at = DateTimeLocalField(
        _l("Closes (local time)"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    audience_roles = SelectMultipleField(
        _l("Open to"), choices=choices([("teacher", _l("Teachers")), ("student", _l("Students"))])
    )
    institution_ids = SelectMultipleField(_l("Only these institutions (none selected: all)"), choices=[])
    cohort_ids = SelectMultipleField(
        _l("Only these cohorts (none selected: everyone in the audience)"), choices=[]
    )
    certificate = BooleanField(_l("Issue a certificate for every graded attempt"), default=True)
    certificate_min = SelectField(_l("…only from this overall level"), choices=[])
    validity_years = IntegerField(
        _l("Certificate valid for (years)"),
        default=2,
        validators=[DataRequired(), NumberRange(min=1, max=10)],
    )
    submit = SubmitField(_l("Save draft"))

    def scale_name(self) -> str:
        from competency.services.assessment_definitions import KIND_SCALE

        return KIND_SCALE.get(self.kind.data, "job")

    def validate_cuts(self, field) -> None:
        try:
            cuts = _cuts(field.data)
        except ValueError as exc:
            raise ValidationError(_l("Give numbers separated by commas.")) from exc
        levels = len(graph.level_scale(self.scale_name()))
        if len(cuts) != levels - 1:
            raise ValidationError(_l("This scale needs %(n)d cut scores.", n=levels - 1))
        if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
            raise ValidationError(_l("Cut scores must increase."))

    def validate_max_items(self, field) -> None:
        if self.min_items.data and field.data < self.min_items.data:
            raise ValidationError(_l("The maximum must not be below the minimum."))

    def validate_dimensions(self, field) -> None:
        if self.kind.data != "job_skill" and not field.data:
            raise ValidationError(_l("Choose at least one dimension."))

    def validate_closes_at(self, field) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The closing time must come after the opening time."))


def fill_choices(form: AssessmentForm, cohorts, institutions=()) -> None:
    form.institution_ids.choices = choices((i.id, i.name) for i in institutions)
    form.role_code.choices = choices(
        [("", "—"), *((p.code, f"{p.code} {p.name_zh}") for p in graph.job_profiles())]
    )
    teacher = graph.teacher_map()
    student = graph.student_indicators()
    dims = [(c, f"{c} {teacher.nodes[c]['name_zh']}") for c in graph.top_level(teacher)]
    dims += [(c, f"{c} {student.nodes[c]['name_zh']}") for c in graph.top_level(student)]
    form.dimensions.choices = choices(dims)
    form.cohort_ids.choices = choices((c.id, c.name) for c in cohorts)
    levels = [("", "—")]
    for name in ("teacher", "student", "job"):
        levels += [(lv.code, f"{lv.code} {lv.name_zh}") for lv in graph.level_scale(name)]
    form.certificate_min.choices = choices(levels)


def _to_utc(value: datetime | None, tz: str):
    return value.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC")) if value else None


def _to_local(value: datetime | None, tz: str):
    return value.astimezone(ZoneInfo(tz)).replace(tzinfo=None) if value else None


def form_to_values(form: AssessmentForm, tz: str) -> dict:
    kind = form.kind.data
    scale = form.scale_name()
    cuts = _cuts(form.cuts.data)
    if kind == "job_skill":
        profile = graph.job_profile(form.role_code.data) if form.role_code.data else None
        dimensions = [form.role_code.data] if profile else []
        nodes = sorted(profile.requirements, key=graph.code_key) if profile else []
    else:
        wanted = "T" if kind == "teacher_graded" else "S"
        dimensions = [d for d in form.dimensions.data if d.startswith(wanted)]
        nodes = list(dimensions)
    engine = {
        "selector": "dopt"
        if form.mcat.data and form.selector.data == "mfi" and len(dimensions) > 1
        else form.selector.data,
        "estimator": form.estimator.data,
        "se_target": form.se_target.data,
        "min_items": form.min_items.data,
        "max_items": form.max_items.data,
        "randomesque": form.randomesque.data,
        "mcat": bool(form.mcat.data and len(dimensions) > 1),
    }
    if engine["mcat"]:
        # Empty (None): the service keeps a draft's calibrated matrix or takes the latest calibration's.
        engine["prior_correlation"] = form.prior_correlation.data
    if form.per_dimension_min.data and len(dimensions) > 1:
        engine["content_by"] = "dimension"
        engine["content_min"] = {d: form.per_dimension_min.data for d in dimensions}
    if form.max_exposure.data:
        engine["exposure"] = "max_rate"
        engine["r_max"] = form.max_exposure.data
    return {
        "code": form.code.data.strip(),
        "title_zh": form.title_zh.data.strip(),
        "title_en": form.title_en.data.strip(),
        "description_zh": form.description_zh.data or "",
        "description_en": form.description_en.data or "",
        "kind": kind,
        "role_code": form.role_code.data or None if kind == "job_skill" else None,
        "scale": scale,
        "dimensions": dimensions,
        "nodes": nodes,
        "engine": engine,
        "cut_scores": {"*": cuts, "overall": cuts},
        "grade_rule": {
            "rule": form.grade_rule.data,
            "cap_above_min": 1 if form.grade_rule.data == "composite" else None,
            # The classes a test of usual length can tell apart (benchmarks/README_cat.md), and no level
            # from fewer answers than the test's own minimum length.
            "report": grading.DEFAULT_REPORT.get(kind),
            "min_evidence": {"total": form.min_items.data or 0},
        },
        "certificate_rule": {
            "enabled": bool(form.certificate.data),
            "min_overall": form.certificate_min.data or None,
            "validity_years": form.validity_years.data,
        },
        "time_limit_minutes": form.time_limit_minutes.data,
        "max_attempts": form.max_attempts.data,
        "wait_hours": form.wait_hours.data or 0,
        "opens_at": _to_utc(form.opens_at.data, tz),
        "closes_at": _to_utc(form.closes_at.data, tz),
        "audience": {
            "roles": list(form.audience_roles.data),
            "cohort_ids": [int(c) for c in form.cohort_ids.data],
        },
    }


def values_to_form_data(a: Assessment, tz: str) -> dict:
    engine = a.engine or {}
    cuts = (a.cut_scores or {}).get("*") or []
    rule = a.certificate_rule or {}
    return {
        "code": a.code,
        "title_zh": a.title_zh,
        "title_en": a.title_en,
        "description_zh": a.description_zh,
        "description_en": a.description_en,
        "kind": a.kind,
        "role_code": a.role_code or "",
        "dimensions": [d for d in a.dimensions if not d.startswith("J-")],
        "selector": "mfi" if engine.get("selector") == "dopt" else engine.get("selector", "mfi"),
        "estimator": engine.get("estimator", "eap"),
        "mcat": engine.get("mcat", False),
        # A calibrated matrix shows as empty (kept on saving); a number as itself.
        "prior_correlation": engine.get("prior_correlation", 0.7)
        if isinstance(engine.get("prior_correlation"), float | int)
        else None,
        "se_target": engine.get("se_target", 0.4),
        "min_items": engine.get("min_items", 10),
        "max_items": engine.get("max_items", 30),
        "per_dimension_min": max((engine.get("content_min") or {}).values(), default=0),
        "randomesque": engine.get("randomesque", 1),
        "max_exposure": engine.get("r_max") if engine.get("exposure") == "max_rate" else None,
        "cuts": ", ".join(f"{c:g}" for c in cuts),
        "grade_rule": (a.grade_rule or {}).get("rule", "composite"),
        "time_limit_minutes": a.time_limit_minutes,
        "max_attempts": a.max_attempts,
        "wait_hours": a.wait_hours,
        "opens_at": _to_local(a.opens_at, tz),
        "closes_at": _to_local(a.closes_at, tz),
        "audience_roles": (a.audience or {}).get("roles", []),
        "cohort_ids": [str(c) for c in (a.audience or {}).get("cohort_ids", [])],
        "institution_ids": [str(i) for i in (a.audience or {}).get("institution_ids", [])],
        "certificate": rule.get("enabled", True),
        "certificate_min": rule.get("min_overall") or "",
        "validity_years": rule.get("validity_years", 2),
    }
