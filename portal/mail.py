"""Sending e-mail: `EmailMessage`s over SMTP with smtplib (plain, STARTTLS or SMTPS), or into
DATA_DIR/mail/*.eml when MAIL_SUPPRESS is on (development and tests: no SMTP server needed).

Nothing here knows what a mail is about. Areas render their messages with `build_message` and
send them from the outbox (see portal/mail_outbox.py), so a crash or an SMTP outage
loses nothing. `send` raises one of two errors, because the outbox treats them differently:

- `MailUnavailable`: the server could not be reached or would not talk to us (connection refused,
  timeout, TLS or login failure, "421 closing"). Nothing was sent; every waiting mail stays for
  the next drain, and no attempt is counted against them.
- `MailRefused`: the server answered *this* message with an error (unknown mailbox, content
  refused). ``permanent`` (a 5xx reply) means trying again will not help.

`flask --app app mail drain` sends what waits; `flask --app app mail send-test <address>` checks the
MAIL_* settings.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_request_context, request

from portal.config import allows_development_shortcuts
from portal.files.store import replaced_atomically

log = logging.getLogger(__name__)



class MailError(Exception):
    pass


class MailUnavailable(MailError):
    """The server cannot take mail now (down, unreachable, TLS or login refused): try later."""


class MailRefused(MailError):
    """The server refused this one message; ``permanent`` for a 5xx reply."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.permanent = code >= 500


def init_app(app: Flask) -> None:
    """Check the MAIL_* settings at boot, not when the first citizen's mail is due."""
    config = app.config
    if config["MAIL_SUPPRESS"] is None:
        config["MAIL_SUPPRESS"] = allows_development_shortcuts(config)
    config["MAIL_SUPPRESS"] = _flag(config["MAIL_SUPPRESS"])
    config["MAIL_USE_TLS"] = _flag(config["MAIL_USE_TLS"])
    config["MAIL_USE_SSL"] = _flag(config["MAIL_USE_SSL"])
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise RuntimeError("PORTAL_MAIL_USE_TLS (STARTTLS on a plain port) and PORTAL_MAIL_USE_SSL "
                           "(TLS from the first byte, port 465) exclude each other: choose one.")
    if not config["MAIL_PORT"]:
        config["MAIL_PORT"] = 465 if config["MAIL_USE_SSL"] else 587 if config["MAIL_USE_TLS"] else 25
    config["MAIL_PORT"] = int(config["MAIL_PORT"])
    if not (str(config["MAIL_USERNAME"]) + str(config["MAIL_PASSWORD"])).isascii():
        # smtplib sends AUTH PLAIN/LOGIN as ASCII and would fail on every drain.
        raise RuntimeError("PORTAL_MAIL_USERNAME and PORTAL_MAIL_PASSWORD must be ASCII (smtplib's limit).")
    if "@" not in parseaddr(config["MAIL_FROM"])[1]:
        raise RuntimeError(f"PORTAL_MAIL_FROM={config['MAIL_FROM']!r} has no e-mail address; "
                           "e.g. 'Cổng kết quả TTHC Hà Nội <no-reply@example.gov.vn>'.")
    if not config["MAIL_SUPPRESS"] and not config.get("PUBLIC_BASE_URL") and not app.testing:
        # The worker renders mails outside any request: it has no host to put in their links.
        app.logger.warning("PORTAL_PUBLIC_BASE_URL is not set: links in e-mails sent by the worker "
                           "will point to http://localhost")


def _flag(value: Any) -> bool:
    # PORTAL_MAIL_SUPPRESS=0 arrives as the integer 0, "off" or "false" as strings.
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def public_base_url(config: Mapping[str, Any], base_url: str | None = None) -> str:
    """Absolute base of links in mails and on copies: PUBLIC_BASE_URL, else ``base_url``, else the
    host of the request being served; a mail rendered by the worker has none, hence the setting."""
    base = config.get("PUBLIC_BASE_URL") or base_url
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://localhost").rstrip("/")


def build_message(to: str, subject: str, text: str, html: str | None = None, *,
                  config: Mapping[str, Any] | None = None, message_id: str | None = None,
                  now: datetime | None = None) -> EmailMessage:
    """A UTF-8 message from MAIL_FROM to ``to``: the text part, and ``html`` as its alternative.

    ``message_id``: a stable id (same event, same id) lets a mail client fold the duplicate that a
    crash between "sent" and "recorded as sent" can cause. Raises ValueError for a bad address.
    """
    config = config or current_app.config
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = config["MAIL_FROM"]
    name, address = parseaddr(to)
    user, _, domain = address.rpartition("@")
    # One recipient, no line breaks: parseaddr alone would quietly keep the first of several.
    if not user or "." not in domain or any(c in to for c in "\r\n,;") or any(c in address for c in " <>"):
        raise ValueError(f"not an e-mail address: {to!r}")
    message["To"] = Address(display_name=name, username=user, domain=domain)
    _set_text_header(message, "Subject", subject)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id or _make_id(config)
    # RFC 3834: out-of-office robots should not answer a notification.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _set_text_header(message: EmailMessage, name: str, value: str) -> None:
    if value.isascii() or sys.version_info >= (3, 13):
        message[name] = value
        return
    # Python before 3.13 drops the space where it folds a long non-ASCII header between two
    # encoded words ("đã được" arrives as "đãđược"); the older Header encoder keeps each space
    # inside an encoded word, and lines it folds under 78 characters are sent as they are.
    message.set_raw(name, Header(value, "utf-8", header_name=name).encode(linesep="\r\n"))


def sender_domain(config: Mapping[str, Any] | None = None) -> str:
    config = config or current_app.config
    return parseaddr(config["MAIL_FROM"])[1].rsplit("@", 1)[-1]


def _make_id(config: Mapping[str, Any]) -> str:
    from email.utils import make_msgid

    return make_msgid(domain=sender_domain(config))


class Mailer:
    """One SMTP session for several messages, opened on first use; or the .eml folder when
    suppressed. Use as a context manager; `send` raises MailUnavailable or MailRefused."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config or current_app.config)
        self._smtp: smtplib.SMTP | None = None
        self.sent = 0

    @property
    def suppressed(self) -> bool:
        return bool(self.config["MAIL_SUPPRESS"])

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ssl_context(self) -> ssl.SSLContext:
        # The server's certificate and name are checked: against MAIL_CA_FILE (an internal CA)
        # when given, else the system's trust store.
        return ssl.create_default_context(cafile=self.config["MAIL_CA_FILE"] or None)

    def open(self) -> None:
        """Connect and log in now (a no-op when connected or suppressed). Raises MailUnavailable."""
        if self.suppressed or self._smtp is not None:
            return
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT"])
        smtp: smtplib.SMTP | None = None
        try:
            if config["MAIL_USE_SSL"]:
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._ssl_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
                if config["MAIL_USE_TLS"]:
                    smtp.starttls(context=self._ssl_context())
                    smtp.ehlo()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (smtplib.SMTPException, OSError) as error:  # ssl.SSLError is an OSError
            if smtp is not None:
                _quietly_close(smtp)
            raise MailUnavailable(f"{host}:{port}: {_describe(error)}") from error
        self._smtp = smtp

    def send(self, message: EmailMessage) -> None:
        if self.suppressed:
            self._write(message)
            self.sent += 1
            return
        self.open()
        assert self._smtp is not None
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            self._after_refusal(code)
            raise MailRefused(code, _text(reason)) from error
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            self._after_refusal(error.smtp_code)
            if isinstance(error, smtplib.SMTPSenderRefused):
                # Our own address refused: every message would be; wait for someone to fix MAIL_FROM.
                raise MailUnavailable(f"sender refused: {_describe(error)}") from error
            raise MailRefused(error.smtp_code, _text(error.smtp_error)) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise MailUnavailable(_describe(error)) from error
        self.sent += 1

    def _after_refusal(self, code: int) -> None:
        if code == 421:  # "service not available, closing channel": an outage, not this message
            self.close()
            raise MailUnavailable(f"{code}: the server is closing the connection")
        try:
            self._smtp.rset()  # a refused transaction leaves the session in the middle of it
        except (smtplib.SMTPException, OSError):
            self.close()

    def _write(self, message: EmailMessage) -> Path:
        folder = Path(self.config["DATA_DIR"]) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        message_id = str(message["Message-ID"]).strip("<>")
        ident = "".join(c if c.isalnum() or c in "-." else "_" for c in message_id)
        target = folder / f"{stamp}-{ident[:80]}.eml"
        # Written beside and renamed: whoever watches the folder never reads half a message.
        with replaced_atomically(target, suffix=".part") as out:
            out.write(message.as_bytes(policy=SMTP_POLICY))
        log.info("mail suppressed (MAIL_SUPPRESS): %s written", target)
        return target

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def send(message: EmailMessage, config: Mapping[str, Any] | None = None) -> None:
    """Send one message in its own SMTP session. Raises MailUnavailable or MailRefused."""
    with Mailer(config) as mailer:
        mailer.send(message)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or error.__class__.__name__


def send_test(address: str) -> None:
    """Send a test message to ``address`` with the MAIL_* settings; click errors for the CLI."""
    config = current_app.config
    try:
        message = build_message(
            address, "Thư thử từ Cổng kết quả TTHC Hà Nội",
            "Đây là thư thử: cấu hình gửi thư điện tử của cổng hoạt động.\n"
            "This is a test message: the portal's e-mail settings work.\n")
        send(message)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="ADDRESS") from None
    except MailError as error:
        raise click.ClickException(f"Không gửi được / not sent: {error}") from None
    where = (f"{Path(config['DATA_DIR']) / 'mail'} (MAIL_SUPPRESS)" if config["MAIL_SUPPRESS"]
             else f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}")
    click.echo(f"Đã gửi / sent to {formataddr(parseaddr(address))} via {where}")
