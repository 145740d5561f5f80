"""WTForms of the pilot programme pages (Flask-WTF adds the CSRF token to each)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from competency.services.pilot_form import ATTACHMENT_KINDS, FIELD_BY_KEY, PROJECT_ROWS
from competency.services.pilot_screening import SCREENING_CHECKLIST
from competency.web.forms import choices

LOCAL = "%Y-%m-%dT%H:%M"


def _label(key: str):
    return FIELD_BY_KEY[key].label


class ProjectForm(Form):
    partner = StringField(_l("Partner enterprise"), validators=[Length(max=2000)])
    period = StringField(_l("Period"), validators=[Length(max=2000)])
    outcomes = TextAreaField(_l("Outcomes"), validators=[Length(max=2000)])


class ApplicationForm(FlaskForm):
    unit_name = StringField(_label("unit_name"), validators=[Length(max=200)])
    unit_address = StringField(_label("unit_address"), validators=[Length(max=300)])
    legal_representative = StringField(_label("legal_representative"), validators=[Length(max=120)])
    institution_type = SelectField(_label("institution_type"), choices=[], validate_choice=False)
    industries = SelectMultipleField(_label("industries"), choices=[], validate_choice=False)
    development_plan = TextAreaField(_label("development_plan"), validators=[Length(max=5000)])
    base_site = TextAreaField(_label("base_site"), validators=[Length(max=5000)])
    base_equipment = TextAreaField(_label("base_equipment"), validators=[Length(max=5000)])
    base_textbooks = TextAreaField(_label("base_textbooks"), validators=[Length(max=5000)])
    base_videos = TextAreaField(_label("base_videos"), validators=[Length(max=5000)])
    base_courses = TextAreaField(_label("base_courses"), validators=[Length(max=5000)])
    projects = FieldList(FormField(ProjectForm), min_entries=PROJECT_ROWS, max_entries=PROJECT_ROWS)
    guarantee_management = TextAreaField(_label("guarantee_management"), validators=[Length(max=5000)])
    guarantee_operation = TextAreaField(_label("guarantee_operation"), validators=[Length(max=5000)])
    contact_name = StringField(_label("contact_name"), validators=[Length(max=120)])
    contact_phone = StringField(_label("contact_phone"), validators=[Length(max=60)])
    contact_email = StringField(_label("contact_email"), validators=[Length(max=200)])
    save = SubmitField(_l("Save draft"))
    submit_application = SubmitField(_l("Submit application"))

    def values(self) -> dict:
        data = {name: field.data for name, field in self._fields.items() if name in FIELD_BY_KEY}
        data["projects"] = [dict(entry.data) for entry in self.projects.entries]
        return data


class AttachmentForm(FlaskForm):
    kind = SelectField(_l("Document"), choices=choices(ATTACHMENT_KINDS.items()), validators=[DataRequired()])
    file = FileField(_l("File (PDF or Word .docx)"))
    upload = SubmitField(_l("Upload"))


class ActionForm(FlaskForm):
    """Carries the CSRF token of a plain button (withdraw, delete, request diagnosis…)."""


class CallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=10000)])
    eligible_types = SelectMultipleField(_l("Eligible institution types"), choices=[])
    industries = SelectMultipleField(_l("Key industries"), choices=[])
    opens_at = DateTimeLocalField(_l("Opens (Beijing time)"), format=LOCAL, validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Deadline (Beijing time)"), format=LOCAL, validators=[Optional()])
    quota = IntegerField(_l("Quota (units to select)"), validators=[Optional()])
    weight_diagnosis = IntegerField(
        _l("Weight of the maturity diagnosis (%; experts get the rest)"), validators=[Optional()]
    )
    spread_threshold = IntegerField(_l("Spread threshold (points)"), validators=[Optional()])
    required_fields = SelectMultipleField(_l("Required fields of the application form"), choices=[])
    required_attachments = SelectMultipleField(_l("Required attachments"), choices=[])
    rubric = TextAreaField(_l("Review rubric (one criterion per line: code | name | points)"))
    save = SubmitField(_l("Save call"))


class ScreeningForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=choices(
            [("pass", _l("Pass")), ("return", _l("Return for completion")), ("reject", _l("Reject"))]
        ),
    )
    reasons = TextAreaField(_l("Reasons (shown to the applicant)"), validators=[Length(max=5000)])
    fix_by = DateTimeLocalField(_l("Complete by (Beijing time)"), format=LOCAL, validators=[Optional()])
    screen = SubmitField(_l("Record screening"))


for _key, _label_text in SCREENING_CHECKLIST.items():
    setattr(ScreeningForm, f"check_{_key}", BooleanField(_label_text))


class AssignForm(FlaskForm):
    experts = SelectMultipleField(_l("Experts"), choices=[], coerce=int, validate_choice=False)
    assign = SubmitField(_l("Assign experts"))


class PanelNoteForm(FlaskForm):
    note = TextAreaField(_l("Panel discussion note"), validators=[DataRequired(), Length(max=5000)])
    save_note = SubmitField(_l("Record note"))


class NoticeForm(FlaskForm):
    starts_at = DateTimeLocalField(
        _l("Publicity starts (Beijing time)"), format=LOCAL, validators=[Optional()]
    )
    ends_at = DateTimeLocalField(_l("Publicity ends (Beijing time)"), format=LOCAL, validators=[Optional()])
    procedure = TextAreaField(_l("How to object"), validators=[Length(max=5000)])
    publish = SubmitField(_l("Publish notice"))


class ObjectionForm(FlaskForm):
    application_id = SelectField(_l("Unit"), choices=[], coerce=int, validate_choice=False)
    name = StringField(_l("Your name"), validators=[Length(max=120)])
    contact = StringField(_l("How to reach you"), validators=[Length(max=200)])
    text = TextAreaField(_l("Your objection and its facts"), validators=[Length(max=5000)])
    send = SubmitField(_l("Submit objection"))


class ResolveForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"), choices=choices([("dismissed", _l("Dismissed")), ("upheld", _l("Upheld"))])
    )
    resolution = TextAreaField(_l("Resolution"), validators=[Length(max=5000)])
    resolve = SubmitField(_l("Resolve"))


class MilestoneForm(FlaskForm):
    action = SelectField(
        _l("Action"),
        choices=choices(
            [
                ("done", _l("Mark done")),
                ("rediagnose", _l("Request re-diagnosis")),
                ("attach", _l("Attach re-diagnosis result")),
            ]
        ),
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])
    update = SubmitField(_l("Update milestone"))


class RevokeDesignationForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revocation"), validators=[DataRequired(), Length(max=2000)])
    revoke = SubmitField(_l("Revoke designation"))


class TieForm(FlaskForm):
    institution_id = SelectField(_l("Institution"), choices=[], coerce=int, validate_choice=False)
    note = StringField(_l("Nature of the tie"), validators=[DataRequired(), Length(max=300)])
    declare = SubmitField(_l("Declare tie"))


class ReviewForm(FlaskForm):
    """Scores and comments are per rubric criterion, read from the request by name (score_<code>)."""

    submit_review = SubmitField(_l("Submit review"))
