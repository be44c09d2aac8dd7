"""Vietnamese first, English second: the language comes from ?lang=, then the cookie."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import force_locale, format_date, format_datetime, get_locale, get_translations

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


def in_both_languages(text: object) -> dict[str, str]:
    """A lazy string (``_l(...)``, `flask_babel.LazyString`) as {"vi": …, "en": …}: what the API
    answers, whatever the caller's language."""
    both = {}
    for language in ("vi", "en"):
        with force_locale(language):
            both[language] = str(text)
    return both


def _translations():
    """The translations of the locale in force, found once per context and locale.

    flask-babel finds them anew for each string (about 10 µs: the search page has 185 strings);
    its context (``g._flask_babel``) keeps the locale object, which `force_locale` swaps, so the
    pair (locale, translations) is kept beside it and trusted only for that very locale object.
    """
    ctx = g.get("_flask_babel") if g else None
    locale = getattr(ctx, "babel_locale", None)
    kept = getattr(ctx, "portal_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()  # sets g._flask_babel.babel_locale when it was not yet
    ctx = g.get("_flask_babel") if g else None
    if ctx is not None:
        ctx.portal_translations = (getattr(ctx, "babel_locale", None), translations)
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(
        app.root_path + "/portal/translations"))
    app.jinja_env.globals.update(format_date=format_date, format_datetime=format_datetime,
                                 get_locale=get_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)

    @app.after_request
    def remember_language(response):
        chosen = request.args.get("lang")
        if chosen in app.config["LANGUAGES"]:
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
                                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True)
        return response
