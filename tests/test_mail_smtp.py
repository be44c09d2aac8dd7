"""portal/mail.py against a real SMTP server: plain, STARTTLS with login, SMTPS, refusals, outages."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from portal import mail
from tests.mail_fixtures import SMTPServer, server_tls_context, tls_certificate


@pytest.fixture
def certificate(tmp_path):
    return tls_certificate(tmp_path)


def message(config, to="lan@example.vn"):
    return mail.build_message(to, "Thư thử: yêu cầu BS-2026-000001 đã được cấp",
                              "Nội dung có dấu: Đường Láng, Đống Đa.\n",
                              "<p>Nội dung có dấu: <b>Đường Láng</b></p>", config=config)


def test_plain_smtp_delivers_utf8_subject_and_both_parts(app, smtp_server):
    config = {**app.config, **smtp_server.config()}
    mail.send(message(config), config)
    [received] = smtp_server.received
    assert received.message["Subject"] == "Thư thử: yêu cầu BS-2026-000001 đã được cấp"
    assert received.message.get_body(("plain",)).get_content() == "Nội dung có dấu: Đường Láng, Đống Đa.\r\n"
    assert "<b>Đường Láng</b>" in received.message.get_body(("html",)).get_content()
    assert not received.tls


def test_starttls_with_login(app, certificate):
    cert, key = certificate
    server = SMTPServer(tls=server_tls_context(cert, key), login=("portal", "mat-khau-thu-2026"))
    server.start()
    try:
        config = {**app.config, **server.config(MAIL_USE_TLS=True, MAIL_CA_FILE=str(cert),
                                                MAIL_USERNAME="portal", MAIL_PASSWORD="mat-khau-thu-2026")}
        mail.send(message(config), config)
        [received] = server.received
        assert received.tls and received.login == "portal"

        # The server's certificate is checked: without our CA the connection is refused, nothing sent.
        with pytest.raises(mail.MailUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            mail.send(message(config), {**config, "MAIL_CA_FILE": ""})
        # A wrong password is an outage to fix, not this message's fault.
        with pytest.raises(mail.MailUnavailable, match="535"):
            mail.send(message(config), {**config, "MAIL_PASSWORD": "sai"})
        # This server insists on STARTTLS: a plain login attempt is refused too.
        with pytest.raises(mail.MailUnavailable):
            mail.send(message(config), {**config, "MAIL_USE_TLS": False})
        assert len(server.received) == 1
    finally:
        server.stop()


def test_smtps_from_the_first_byte(app, certificate):
    cert, key = certificate
    server = SMTPServer(tls=server_tls_context(cert, key), implicit_tls=True)
    server.start()
    try:
        config = {**app.config, **server.config(MAIL_USE_SSL=True, MAIL_CA_FILE=str(cert))}
        mail.send(message(config), config)
        [received] = server.received
        assert received.tls
        with pytest.raises(mail.MailUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            mail.send(message(config), {**config, "MAIL_CA_FILE": ""})
    finally:
        server.stop()


def test_refusals_are_told_apart(app, smtp_server):
    config = {**app.config, **smtp_server.config()}
    smtp_server.refuse("nobody@example.vn", "550 5.1.1 No such user")
    smtp_server.refuse("full@example.vn", "452 4.2.2 Mailbox full")
    with mail.Mailer(config) as mailer:
        with pytest.raises(mail.MailRefused) as permanent:
            mailer.send(message(config, "nobody@example.vn"))
        with pytest.raises(mail.MailRefused) as temporary:
            mailer.send(message(config, "full@example.vn"))
        mailer.send(message(config))  # the same session goes on after a refusal
    assert permanent.value.permanent and permanent.value.code == 550
    assert not temporary.value.permanent and temporary.value.code == 452
    assert [r.envelope_to for r in smtp_server.received] == [["lan@example.vn"]]

    smtp_server.stop()
    with pytest.raises(mail.MailUnavailable, match="Connection refused"):
        mail.send(message(config), config)


def test_a_bad_address_never_reaches_the_server(app):
    with pytest.raises(ValueError):
        mail.build_message("lan@example.vn\r\nBcc: everyone@example.vn", "x", "y", config=app.config)
    with pytest.raises(ValueError):
        mail.build_message("not an address", "x", "y", config=app.config)


def test_suppressed_mail_goes_to_eml_files(app):
    assert app.config["MAIL_SUPPRESS"] is True  # testing (and development) default
    mail.send(message(app.config))
    [eml] = (Path(app.config["DATA_DIR"]) / "mail").glob("*.eml")
    parsed = message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert parsed["Subject"] == "Thư thử: yêu cầu BS-2026-000001 đã được cấp"
    assert not list((Path(app.config["DATA_DIR"]) / "mail").glob("*.part"))


def test_send_test_command(app, runner):
    result = runner.invoke(args=["mail", "send-test", "lan@example.vn"])
    assert result.exit_code == 0, result.output
    assert "MAIL_SUPPRESS" in result.output
    result = runner.invoke(args=["mail", "send-test", "không phải địa chỉ"])
    assert result.exit_code == 2 and "not an e-mail address" in result.output


def test_settings_are_checked_at_boot(make_app, caplog):
    with pytest.raises(RuntimeError, match="exclude each other"):
        make_app(MAIL_USE_TLS=True, MAIL_USE_SSL=True)
    with pytest.raises(RuntimeError, match="must be ASCII"):
        make_app(MAIL_USERNAME="portal", MAIL_PASSWORD="mật-khẩu")
    with pytest.raises(RuntimeError, match="has no e-mail address"):
        make_app(MAIL_FROM="Cổng kết quả")
    assert make_app(MAIL_USE_TLS="1", MAIL_SUPPRESS="off").config["MAIL_PORT"] == 587
    assert make_app(MAIL_USE_SSL=True).config["MAIL_PORT"] == 465
    assert make_app(ENV="production", TESTING=False, SECRET_KEY="x" * 32).config["MAIL_SUPPRESS"] is False
    assert "PORTAL_PUBLIC_BASE_URL is not set: links in e-mails" in caplog.text
    assert make_app(ENV="development", TESTING=False).config["MAIL_SUPPRESS"] is True
