"""Where the signing keys and certificates of copies come from, and which roots a copy is checked against.

Two layouts, chosen by config:

- **One certificate for every unit** (a city-wide signing service): ``COPY_SIGNING_KEY`` and
  ``COPY_SIGNING_CERT`` name PEM files (``COPY_SIGNING_CHAIN``: intermediates, optional).
- **One per unit** (default): ``COPY_PKI_DIR/units/<unit code>/{key.pem,cert.pem,chain.pem}``,
  ``<unit code>`` being the statistics-office code of the current commune or ward.

``COPY_TRUST_ROOTS``: PEM files (comma-separated) of the roots a copy must chain to; empty means
``COPY_PKI_DIR/root.crt`` (the development CA written by ``flask copies dev-ca``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_cert_from_pemder
from pyhanko.sign import signers

from portal.config import allows_development_shortcuts
from portal.units.models import AdminUnit


class SigningKeyMissing(RuntimeError):
    """No key and certificate are configured for the unit that issues the copy."""


#: Written by the development authority (devca) into every name it issues. Its keys sign and its
#: root is trusted only where development shortcuts are allowed (PORTAL_ENV development/testing).
DEV_MARK = "DEVELOPMENT ONLY"


def _development_only(certificate: asn1_x509.Certificate) -> bool:
    return DEV_MARK in certificate.subject.human_friendly


@dataclass(frozen=True)
class UnitSigner:
    signer: signers.SimpleSigner
    certificate: asn1_x509.Certificate

    @property
    def subject(self) -> str:
        return self.certificate.subject.human_friendly

    @property
    def common_name(self) -> str:
        return self.certificate.subject.native.get("common_name", self.subject)


def pki_dir(config) -> Path:
    return Path(config["COPY_PKI_DIR"])


def unit_dir(config, unit: AdminUnit) -> Path:
    return pki_dir(config) / "units" / unit.code


_cache: dict[tuple, UnitSigner] = {}
_lock = threading.Lock()


def _load(key: Path, cert: Path, chain: list[Path]) -> UnitSigner:
    # Loading and parsing keys costs more than signing a small copy: keep them, keyed by mtime so a
    # renewed certificate is picked up without a restart.
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in (key, cert, *chain))
    with _lock:
        if stamp in _cache:
            return _cache[stamp]
    signer = signers.SimpleSigner.load(str(key), str(cert), ca_chain_files=[str(p) for p in chain])
    if signer is None:
        raise SigningKeyMissing(f"could not load the signing key {key} with the certificate {cert}")
    loaded = UnitSigner(signer=signer, certificate=signer.signing_cert)
    with _lock:
        _cache[stamp] = loaded
    return loaded


def find_signer(config, unit: AdminUnit) -> UnitSigner | None:
    """The key and certificate signing ``unit``'s copies, or None when there are none."""
    if config.get("COPY_SIGNING_KEY") or config.get("COPY_SIGNING_CERT"):
        key, cert = Path(config["COPY_SIGNING_KEY"]), Path(config["COPY_SIGNING_CERT"])
        chain = [Path(p.strip()) for p in (config.get("COPY_SIGNING_CHAIN") or "").split(",") if p.strip()]
        if not key.is_file() or not cert.is_file():
            raise SigningKeyMissing(f"COPY_SIGNING_KEY / COPY_SIGNING_CERT: {key} or {cert} is not a file")
        return _refuse_development_key(config, _load(key, cert, chain), cert)
    directory = unit_dir(config, unit)
    key, cert, chain = directory / "key.pem", directory / "cert.pem", directory / "chain.pem"
    if not key.is_file() or not cert.is_file():
        return None
    return _refuse_development_key(config, _load(key, cert, [chain] if chain.is_file() else []), cert)


def _refuse_development_key(config, signer: UnitSigner, cert: Path) -> UnitSigner:
    if _development_only(signer.certificate) and not allows_development_shortcuts(config):
        raise SigningKeyMissing(f"{cert}: a {DEV_MARK} key, refused with PORTAL_ENV={config.get('ENV')}")
    return signer


def trust_roots(config) -> list[asn1_x509.Certificate]:
    """Certificates a copy's signature must chain to."""
    names = [p.strip() for p in (config.get("COPY_TRUST_ROOTS") or "").split(",") if p.strip()]
    paths = [Path(n) for n in names] or [pki_dir(config) / "root.crt"]
    roots = []
    for path in paths:
        if path.is_file():
            roots.append(_root(str(path), path.stat().st_mtime_ns))
    if allows_development_shortcuts(config):
        return roots
    return [root for root in roots if not _development_only(root)]  # a dev root vouches for nothing


_roots: dict[tuple[str, int], asn1_x509.Certificate] = {}


def _root(path: str, mtime: int) -> asn1_x509.Certificate:
    key = (path, mtime)
    if key not in _roots:
        _roots[key] = load_cert_from_pemder(path)
    return _roots[key]
