"""Hanoi portal of digitized results of administrative procedures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from portal import config as config_module

ROOT = Path(__file__).resolve().parent.parent

#: Models every area defines, imported so that metadata (and Alembic) sees all tables.
MODEL_MODULES = (
    "portal.units.models",
    "portal.procedures.models",
    "portal.records.models",
    "portal.imports.models",
    "portal.imports.job_models",
    "portal.outbox",
    "portal.audit",
    "portal.identity.models",
    "portal.copy_requests.models",
    "portal.feedback.models",
    "portal.coverage.models",
    "portal.scorecard.models",
    "portal.fixity.models",
    "portal.follows.models",
    "portal.sharing.models",
    "portal.counter.models",
    "portal.privacy.models",
    "portal.api_keys.models",
    "portal.rate_limits",
)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config → extensions → areas → errors → security → cli."""
    app = Flask(
        __name__,
        root_path=str(ROOT),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_module.Config)
    app.config.from_prefixed_env("PORTAL")
    app.config["TESTING"] = False  # only code (the test suite) turns it on, never the environment
    app.config.update(overrides or {})
    config_module.finalize(app.config)
    _refuse_unsafe_config(app)
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    from portal import api_conventions, errors, http_cache, i18n, request_ids, security
    from portal.audit import audit_cli
    from portal.audit import init_app as init_audit
    from portal.extensions import csrf, db, migrate

    for module in MODEL_MODULES:
        __import__(module)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    init_audit(app)  # the audit keys: outside development and tests, none refuses to start
    http_cache.init_app(app)  # first registered, so its hook runs after every other one
    i18n.init_app(app)

    from portal import copy_requests, feedback, identity, jobs, mail, mail_outbox, rate_limits, search
    from portal.api_keys import init_app as init_api_keys
    from portal.api_keys.cli import api_keys_cli
    from portal.api_keys.views import admin_bp as api_keys_admin_bp
    from portal.api_keys.views import api_bp as api_keys_api_bp
    from portal.copy_requests.cli import copies_cli
    from portal.copy_requests.download_views import bp as copies_bp
    from portal.copy_requests.staff_views import bp as copy_requests_staff_bp
    from portal.copy_requests.verify_api_views import bp as verify_api_bp
    from portal.copy_requests.verify_views import bp as verify_bp
    from portal.copy_requests.views import bp as copy_requests_bp
    from portal.coverage import init_app as init_coverage
    from portal.coverage.cli import coverage_cli
    from portal.coverage.staff_views import bp as digitization_staff_bp
    from portal.coverage.staff_views import issued_bp as coverage_staff_bp
    from portal.coverage.views import bp as coverage_bp
    from portal.demo.cli import demo_cli
    from portal.feedback.petition_staff_views import bp as petitions_staff_bp
    from portal.feedback.petition_views import bp as petitions_bp
    from portal.feedback.rating_views import bp as ratings_bp
    from portal.feedback.report_staff_views import bp as reports_staff_bp
    from portal.feedback.report_views import bp as reports_bp
    from portal.feedback.tracking_api_views import bp as tracking_api_bp
    from portal.fixity import init_app as init_fixity
    from portal.fixity.cli import files_cli
    from portal.fixity.staff_views import bp as fixity_bp
    from portal.follows import init_app as init_follows
    from portal.follows.views import bp as follows_bp
    from portal.sharing import init_app as init_sharing
    from portal.sharing.views import bp as sharing_bp
    from portal.sharing.api_views import bp as sharing_api_bp
    from portal.counter import init_app as init_counter
    from portal.counter.staff_views import bp as counter_staff_bp
    from portal.privacy import init_app as init_privacy
    from portal.privacy.views import bp as privacy_bp
    from portal.privacy.staff_views import bp as privacy_staff_bp
    from portal.identity.staff_cli import staff_cli
    from portal.identity.staff_views import bp as staff_bp
    from portal.imports.cli import records_cli
    from portal.imports.staff_views import bp as imports_staff_bp
    from portal.procedures.staff_views import bp as procedures_staff_bp
    from portal.records.duplicate_views import bp as duplicates_staff_bp
    from portal.records.views import bp as records_bp
    from portal.refdata import refdata_command
    from portal.scorecard.cli import scorecard_cli
    from portal.scorecard.views import bp as scorecard_bp
    from portal.search.api_views import bp as search_api_bp
    from portal.search.api_views import docs_bp as api_docs_bp
    from portal.search.batch_views import bp as batch_api_bp
    from portal.ocr.cli import ocr_cli
    from portal.operations import metrics, static_urls
    from portal.operations.backup_cli import backup_cli
    from portal.operations.cli import doctor_command
    from portal.operations.metrics_views import bp as metrics_bp
    from portal.operations.views import bp as operations_bp
    from portal.search.cli import search_cli
    from portal.units.api_views import bp as units_api_bp
    from portal.units.views import bp as units_bp
    from portal.views import bp as main_bp

    identity.init_app(app)
    search.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)  # checks the MAIL_* settings; `flask mail`
    rate_limits.init_app(app)
    init_api_keys(app)  # the quota counter's Redis client, when REDIS_URL is set
    init_coverage(app)  # its mail topic
    copy_requests.init_app(app)  # its mail topic
    feedback.init_app(app)  # its mail topic
    init_fixity(app)  # its mail topic
    init_follows(app)  # its mail topic (and FOLLOW_REMINDER_DAYS checked)
    init_sharing(app)  # share links (issue 17, item 2)
    init_counter(app)  # assisted mode at the counter (issue 17, item 3)
    init_privacy(app)  # personal-data rights and retention (issue 17, item 4)
    app.register_blueprint(main_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(search_api_bp)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(batch_api_bp)
    app.register_blueprint(verify_api_bp)
    app.register_blueprint(tracking_api_bp)
    app.register_blueprint(units_api_bp)
    app.register_blueprint(units_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(copies_bp)
    app.register_blueprint(copy_requests_bp)
    app.register_blueprint(copy_requests_staff_bp)
    app.register_blueprint(scorecard_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(reports_staff_bp)
    app.register_blueprint(imports_staff_bp)
    app.register_blueprint(petitions_bp)
    app.register_blueprint(petitions_staff_bp)
    app.register_blueprint(coverage_bp)
    app.register_blueprint(digitization_staff_bp)
    app.register_blueprint(coverage_staff_bp)
    app.register_blueprint(ratings_bp)
    app.register_blueprint(fixity_bp)
    app.register_blueprint(follows_bp)
    app.register_blueprint(sharing_bp)
    app.register_blueprint(sharing_api_bp)
    app.register_blueprint(counter_staff_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(privacy_staff_bp)

    app.register_blueprint(procedures_staff_bp)
    app.register_blueprint(duplicates_staff_bp)
    app.register_blueprint(api_keys_admin_bp)
    app.register_blueprint(api_keys_api_bp)
    app.register_blueprint(operations_bp)  # /readyz
    errors.register_error_handlers(app)
    security.init_app(app)
    api_conventions.init_app(app)  # CORS on public API reads; Deprecation/Sunset when set
    request_ids.init_app(app)  # X-Request-ID on every answer and in the portal's log lines
    static_urls.init_app(app)  # /static/…?v=<content hash>: nginx lets browsers keep them a year
    metrics.init_app(app)  # requests counted and timed, one JSON access-log line each (issue 16)
    app.register_blueprint(metrics_bp)  # /metrics, for the monitoring's addresses or token only
    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.cli.add_command(ocr_cli)
    for command in (records_cli, coverage_cli, demo_cli, search_cli, refdata_command, audit_cli, staff_cli,
                    copies_cli, mail_outbox.mail_cli, scorecard_cli):
        app.cli.add_command(command)
    app.cli.add_command(files_cli)
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(doctor_command)
    app.cli.add_command(backup_cli)  # flask backup create | verify | restore (issue 16)
    return app


def _refuse_unsafe_config(app: Flask) -> None:
    if app.config["ENV"] not in config_module.ENVIRONMENTS:
        raise RuntimeError(f"PORTAL_ENV={app.config['ENV']!r} is not one of "
                           f"{', '.join(config_module.ENVIRONMENTS)}: refusing to start.")
    if app.config["DEV_IDP"] and not config_module.allows_development_shortcuts(app.config):
        # A provider that lets anyone pick who they are must never face the public.
        raise RuntimeError(f"PORTAL_DEV_IDP is on while PORTAL_ENV={app.config['ENV']}: it is allowed only "
                           f"with PORTAL_ENV={' or '.join(config_module.DEVELOPMENT_ENVIRONMENTS)}; "
                           "refusing to start.")
    development = config_module.allows_development_shortcuts(app.config)
    if not app.config["SECRET_KEY"]:
        if not development:
            raise RuntimeError(
                "PORTAL_SECRET_KEY is not set. Set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    if development:
        # Served over plain http on localhost in development: a Secure cookie would never come back.
        app.config["SESSION_COOKIE_SECURE"] = False
