"""A self-signed key and certificate made once under VAR_DIR/keys (embedded mode), shared by the
report-signing identity and the local time-stamping authority."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID


def self_signed_publish(
    path: Path,
    *,
    key: RSAPrivateKey | EllipticCurvePrivateKey,
    common_name: str,
    organisation: str,
    validity: timedelta,
    critical_extensions: Sequence[x509.ExtensionType] = (),
    trust_anchor: bool = False,
) -> bool:
    """Write ``key`` and a certificate for it (signing and non-repudiation only) to ``path`` as one PEM
    file, mode 0600, published atomically. The first writer wins: False when another process had
    already published one, which then stands.

    ``trust_anchor`` makes it a CA certificate (basic constraints CA, path length 0, may sign
    certificates) that signs documents itself: NSS, and so poppler's `pdfsig`, accepts only a CA
    certificate as the anchor a signature is trusted through, and calls a self-signed end-entity
    certificate's issuer "unknown" whatever trust it is given."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=trust_anchor, path_length=0 if trust_anchor else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=trust_anchor,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    for extension in critical_extensions:
        builder = builder.add_extension(extension, critical=True)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process got there first; theirs stands
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    return True
