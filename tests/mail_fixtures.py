"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), collecting what it receives.

    def test_x(smtp_server, make_app):
        app = make_app(**smtp_server.config())        # MAIL_* pointing at it, MAIL_SUPPRESS off
        ...
        [message] = smtp_server.messages              # email.message.EmailMessage, decoded headers

`smtp_server.stop()` / `.start()` simulate an outage (same port); `.refuse(address, "550 …")`
makes it refuse one recipient; `tls_certificate(tmp_path)` makes a self-signed certificate for
the STARTTLS and SMTPS tests.
"""

from __future__ import annotations

import asyncio
import email
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    message: EmailMessage
    envelope_to: list[str]
    tls: bool
    login: str | None


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.server.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server.delay:
            await asyncio.sleep(self.server.delay)  # a slow server: other connections go on
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.server.lock:
            tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
            self.server.received.append(Received(message, list(envelope.rcpt_tos), tls,
                                                 login if session.authenticated else None))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, *, tls: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 login: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.received: list[Received] = []
        self.refusals: dict[str, str] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        self._tls, self._implicit, self._login = tls, implicit_tls, login
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def config(self, **extra) -> dict:
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port, "MAIL_SUPPRESS": False,
                "MAIL_FROM": "Cổng kết quả TTHC Hà Nội <no-reply@ketqua.hanoi.gov.vn>",
                "MAIL_TIMEOUT": 5, **extra}

    def refuse(self, address: str, reply: str) -> None:
        self.refusals[address.lower()] = reply

    def start(self) -> None:
        kwargs: dict = {}
        if self._tls is not None and not self._implicit:
            kwargs.update(tls_context=self._tls, require_starttls=True)
        if self._login is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=True)
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port,
            ssl_context=self._tls if self._implicit else None, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller.loop.close()  # aiosmtpd leaves its loop open (a ResourceWarning)
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login.decode(),
                                                     auth_data.password.decode()) == self._login:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def tls_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(IPv4Address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
