"""The forms of the maturity pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from competency.web.forms import choices

ACTION_STATUS_LABELS = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OpenRoundForm(FlaskForm):
    institution_id = SelectField(_l("Institution"), coerce=int, validators=[Optional()])
    title = StringField(_l("Title of the round"), validators=[DataRequired(), Length(max=200)])
    scenarios = MultiCheckbox(_l("Scenarios the institution runs"), validators=[Optional()])
    weight_questionnaire = IntegerField(
        _l("Weight of the questionnaires (%)"),
        default=30,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    weight_objective = IntegerField(
        _l("Weight of the objective evidence (%)"),
        default=30,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    weight_expert = IntegerField(
        _l("Weight of the expert ratings (%)"),
        default=40,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    submit = SubmitField(_l("Open a diagnosis round"))

    def weights(self) -> dict[str, float]:
        return {
            "questionnaire": (self.weight_questionnaire.data or 0) / 100,
            "objective": (self.weight_objective.data or 0) / 100,
            "expert": (self.weight_expert.data or 0) / 100,
        }


class LinkInviteForm(FlaskForm):
    group = SelectField(_l("Respondent group"), validators=[DataRequired()])
    expected = IntegerField(
        _l("People the link goes to"), validators=[DataRequired(), NumberRange(min=1, max=100000)]
    )
    label = StringField(_l("Label (optional)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Create an invitation link"))


class CohortInviteForm(FlaskForm):
    group = SelectField(_l("Respondent group"), validators=[DataRequired()])
    cohort_id = SelectField(_l("Cohort"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Invite the cohort"))


class EvidenceForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=64)])
    note = TextAreaField(_l("Note (source of the figure)"), validators=[Optional(), Length(max=2000)])
    attachment = FileField(_l("Proof document (PDF, PNG, JPEG, DOCX or XLSX, up to 5 MB)"))
    submit = SubmitField(_l("Save the evidence"))


class ReviewForm(FlaskForm):
    status = SelectField(
        _l("Review"),
        choices=choices([("accepted", _l("Accept")), ("rejected", _l("Reject"))]),
        validators=[DataRequired()],
    )
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save the review"))


class ConsensusForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    level = SelectField(_l("Agreed level"), validators=[DataRequired()])
    comment = TextAreaField(_l("How the experts agreed"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Record the consensus"))


class AssignExpertForm(FlaskForm):
    expert_id = SelectField(_l("Expert"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Assign the expert"))


class ActionForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=300)])
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DateField(_l("Due date"), validators=[DataRequired()])
    submit = SubmitField(_l("Add to the action list"))


class ActionUpdateForm(FlaskForm):
    status = SelectField(
        _l("Status"), choices=choices(ACTION_STATUS_LABELS.items()), validators=[DataRequired()]
    )
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DateField(_l("Due date"), validators=[DataRequired()])
    submit = SubmitField(_l("Update"))


class PlainForm(FlaskForm):
    """Only the CSRF token: for buttons and for forms whose fields the model defines."""

    submit = SubmitField(_l("Submit"))
