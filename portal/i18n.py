"""Vietnamese first, English second: the language comes from ?lang=, then the cookie."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from portal.extensions import babel

COOKIE = "lang"


def select_locale() -> str:
    """Vietnamese unless the person chose English (?lang=en, then remembered in a cookie).

    Accept-Language is not consulted: most browsers in Vietnam are set to English, and the
    portal is Vietnamese first.
    """
    from flask import current_app

    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(
        app.root_path + "/portal/translations"))
    app.jinja_env.globals.update(format_date=format_date, format_datetime=format_datetime,
                                 get_locale=get_locale)

    @app.after_request
    def remember_language(response):
        chosen = request.args.get("lang")
        if chosen in app.config["LANGUAGES"]:
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
                                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True)
        return response
