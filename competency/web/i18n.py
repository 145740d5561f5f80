"""Locale and time-zone selection: the user's saved choice, else the session's, else Chinese."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_login import current_user

from competency.web.paths import API_PREFIX

HTML_LANG = {"zh_Hans_CN": "zh-CN", "en": "en"}


def select_locale() -> str:
    if not has_request_context():
        # Command-line tools and logs speak English; people in the browser get Chinese first.
        return current_app.config.get("CLI_LOCALE", "en")
    languages = current_app.config["LANGUAGES"]
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user.locale if api_user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith(API_PREFIX):
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # no cookie session there to say otherwise
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def html_lang() -> str:
    return HTML_LANG.get(select_locale(), "zh-CN")
