"""WTForms for the HTML pages; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from competency.models import CareerStage, InstitutionType, Role, TeacherCategory

ROLE_LABELS = {
    Role.PLATFORM_ADMIN: _l("Platform admin"),
    Role.INSTITUTION_ADMIN: _l("Institution admin"),
    Role.TRAINER: _l("Trainer"),
    Role.TEACHER: _l("Teacher"),
    Role.STUDENT: _l("Student"),
    Role.EXPERT: _l("Expert"),
    Role.PROGRAMME_OFFICER: _l("Programme officer"),
}
INSTITUTION_TYPE_LABELS = {
    InstitutionType.SECONDARY_VOCATIONAL: _l("Secondary vocational school"),
    InstitutionType.HIGHER_VOCATIONAL: _l("Higher vocational college"),
    InstitutionType.TECHNICIAN_COLLEGE: _l("Technician college"),
    InstitutionType.APPLIED_UNIVERSITY: _l("Applied university"),
    InstitutionType.ENTERPRISE: _l("Enterprise"),
}
CATEGORY_LABELS = {
    TeacherCategory.PUBLIC_COURSE: _l("Public foundation course"),
    TeacherCategory.SPECIALTY_COURSE: _l("Specialty course"),
    TeacherCategory.PRACTICAL_TRAINING: _l("Practical training (dual-qualified)"),
}
STAGE_LABELS = {
    CareerStage.NOVICE: _l("Novice"),
    CareerStage.PROFICIENT: _l("Proficient"),
    CareerStage.BACKBONE: _l("Backbone"),
    CareerStage.EXPERT: _l("Expert"),
}

STATUS_LABELS = {
    # Not "Started": that msgid is the column heading "开始时间" (start time).
    "started": _l("Started, no answer yet"),
    "in_progress": _l("In progress"),
    "finished": _l("Finished"),
    "timed_out": _l("Timed out"),
    "graded": _l("Graded"),
    "insufficient": _l("No level: too few answers"),
    "draft": _l("Draft"),
    "published": _l("Published"),
    "archived": _l("Archived"),
}


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Log out"))


class InstitutionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=choices((k.value, v) for k, v in INSTITUTION_TYPE_LABELS.items()))
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    industries = StringField(
        _l("Key industries served (comma-separated)"), validators=[Optional(), Length(max=500)]
    )
    submit = SubmitField(_l("Create institution"))


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[])
    institution_id = SelectField(_l("Institution"), coerce=int, choices=[])
    teacher_category = SelectField(
        _l("Teacher category"),
        choices=choices([("", "—"), *((k.value, v) for k, v in CATEGORY_LABELS.items())]),
    )
    career_stage = SelectField(
        _l("Career stage"), choices=choices([("", "—"), *((k.value, v) for k, v in STAGE_LABELS.items())])
    )
    department = StringField(_l("Department"), validators=[Optional(), Length(max=120)])
    programme = StringField(_l("Programme"), validators=[Optional(), Length(max=120)])
    year = IntegerField(_l("Year of study"), validators=[Optional(), NumberRange(min=1, max=8)])
    submit = SubmitField(_l("Create user"))


class CohortForm(FlaskForm):
    name = StringField(_l("Cohort name"), validators=[DataRequired(), Length(max=120)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Create cohort"))


class AddMemberForm(FlaskForm):
    username = StringField(_l("User name of the member"), validators=[DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Add member"))


class RemoveMemberForm(FlaskForm):
    user_id = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Remove"))


class ExtraTimeForm(FlaskForm):
    extra_time_percent = IntegerField(
        _l("Extra time on timed assessments (percent)"), validators=[NumberRange(min=0, max=200)]
    )
    submit = SubmitField(_l("Save accommodation"))
