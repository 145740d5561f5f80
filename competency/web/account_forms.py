"""Forms of the account pages: one's own profile and password, and an admin's containment actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from competency.web.forms import choices

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
