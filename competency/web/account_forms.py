"""Forms of the account pages: one's own profile and password, and an admin's containment actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from competency.web.forms import INSTITUTION_TYPE_LABELS, choices

LANGUAGE_LABELS = {"": _l("As chosen in the header"), "zh_Hans_CN": "简体中文", "en": "English"}


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    locale = SelectField(_l("Language"), choices=choices(LANGUAGE_LABELS.items()))
    target_role = SelectField(_l("Target job role"), choices=[])
    submit = SubmitField(_l("Save profile"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    repeat_password = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Change password"))


class SignOutEverywhereForm(FlaskForm):
    submit = SubmitField(_l("Sign out everywhere"))


class ResetPasswordForm(FlaskForm):
    submit = SubmitField(_l("Reset password"))


class ActiveForm(FlaskForm):
    submit = SubmitField(_l("Change"))


class EndSessionsForm(FlaskForm):
    submit = SubmitField(_l("End all sessions and tokens"))


# Fairness-profile answers (optional; codes in competency.models.accounts).
GENDER_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
REGION_LABELS = {
    "north": _l("North China"),
    "northeast": _l("Northeast China"),
    "east": _l("East China"),
    "central": _l("Central China"),
    "south": _l("South China"),
    "southwest": _l("Southwest China"),
    "northwest": _l("Northwest China"),
}
MAJOR_LABELS = {
    "agriculture": _l("Agriculture, forestry, animal husbandry and fishery"),
    "resources_environment": _l("Resources, environment and safety"),
    "energy_materials": _l("Energy, power and materials"),
    "civil_engineering": _l("Civil engineering and architecture"),
    "water": _l("Water conservancy"),
    "equipment_manufacturing": _l("Equipment manufacturing"),
    "biology_chemistry": _l("Biology and chemical engineering"),
    "light_textile": _l("Light industry and textiles"),
    "food_drugs_grain": _l("Food, drugs and grain"),
    "transport": _l("Transport"),
    "electronics_it": _l("Electronics and information"),
    "medicine_health": _l("Medicine and health"),
    "finance_commerce": _l("Finance and commerce"),
    "tourism": _l("Tourism"),
    "culture_arts": _l("Culture and arts"),
    "media": _l("Journalism and communication"),
    "education_sports": _l("Education and sports"),
    "public_security_justice": _l("Public security and justice"),
    "public_services": _l("Public administration and services"),
}
FAIRNESS_LABELS = {
    "gender": GENDER_LABELS,
    "institution_type": {k.value: v for k, v in INSTITUTION_TYPE_LABELS.items()},
    "region": REGION_LABELS,
    "major_category": MAJOR_LABELS,
}
FAIRNESS_FIELD_NAMES = {
    "gender": _l("Gender"),
    "institution_type": _l("Type of institution"),
    "region": _l("Region"),
    "major_category": _l("Programme category (专业大类)"),
}


def _optional(labels: dict) -> list:
    return choices([("", _l("Prefer not to say")), *labels.items()])


class FairnessForm(FlaskForm):
    consent = BooleanField(
        _l("I agree that the answers below are used, only in aggregate, to check that questions are fair to every group")
    )
    gender = SelectField(FAIRNESS_FIELD_NAMES["gender"], choices=_optional(GENDER_LABELS))
    institution_type = SelectField(
        FAIRNESS_FIELD_NAMES["institution_type"], choices=_optional(FAIRNESS_LABELS["institution_type"])
    )
    region = SelectField(FAIRNESS_FIELD_NAMES["region"], choices=_optional(REGION_LABELS))
    major_category = SelectField(FAIRNESS_FIELD_NAMES["major_category"], choices=_optional(MAJOR_LABELS))
    submit = SubmitField(_l("Save my answers"))
