"""A development certificate authority: a root and one signing certificate per unit, for local runs
and tests only. Every subject says "DEVELOPMENT ONLY"; production keys come from config (keys.py).

Layout under COPY_PKI_DIR: ``root.key``, ``root.crt``, ``units/<code>/{key.pem,cert.pem,chain.pem}``.
ECDSA P-256 keys: generated in milliseconds, so a test can make a fresh authority.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portal.copy_requests import keys
from portal.units.models import AdminUnit

DEV_MARK = keys.DEV_MARK
ROOT_NAME = f"Hanoi results portal development CA ({DEV_MARK})"
ROOT_YEARS = 10
UNIT_YEARS = 3


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    if private:
        os.chmod(temp, 0o600)
    os.replace(temp, path)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Hà Nội"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
    ])


def _root(config) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    directory = keys.pki_dir(config)
    key_path, cert_path = directory / "root.key", directory / "root.crt"
    if key_path.is_file() and cert_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(ROOT_NAME, f"Cổng kết quả TTHC Hà Nội ({DEV_MARK})")
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def has_root(config) -> bool:
    directory = keys.pki_dir(config)
    return (directory / "root.key").is_file() and (directory / "root.crt").is_file()


def ensure_root(config) -> Path:
    """Create the development root unless it exists; returns the certificate's path."""
    _root(config)
    return keys.pki_dir(config) / "root.crt"


def ensure_unit(config, unit: AdminUnit) -> bool:
    """Give ``unit`` a development key and certificate unless it has one. True when one was made."""
    directory = keys.unit_dir(config, unit)
    if (directory / "key.pem").is_file() and (directory / "cert.pem").is_file():
        return False
    root_key, root_cert = _root(config)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = _name(f"{unit.name} ({DEV_MARK})", f"UBND {unit.name} ({DEV_MARK})")
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(root_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365 * UNIT_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    # Key first, certificate last: a unit counts as ready once cert.pem exists.
    _write(directory / "key.pem", key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()), private=True)
    _write(directory / "chain.pem", root_cert.public_bytes(serialization.Encoding.PEM))
    _write(directory / "cert.pem", cert.public_bytes(serialization.Encoding.PEM))
    return True
