"""Sign and verify a certificate: Ed25519 (the audit checkpoint key) over the canonical JSON of its body.

File format::

    {"format": "dr-portal recovery-equivalence certificate v1",
     "certificate": {...}, "key_id": "<16 hex>", "signature": "<base64 Ed25519 over canonical(certificate)>"}

canonical(x) is ``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8.
Verification needs only the public key (PEM), never the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "dr-portal recovery-equivalence certificate v1"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id_of(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def certificate_sign(body: dict[str, Any], key: Ed25519PrivateKey) -> str:
    signature = base64.b64encode(key.sign(canonical(body))).decode()
    document = {"format": FORMAT, "certificate": body, "key_id": key_id_of(key.public_key()), "signature": signature}
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def certificate_check(text: str, key: Ed25519PublicKey) -> tuple[bool, str, dict[str, Any]]:
    """(signature ok, one-sentence result, the certificate body or {})."""
    try:
        document = json.loads(text)
        body, signature = document["certificate"], base64.b64decode(document["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        return False, f"Not a certificate file ({type(exc).__name__}: {exc}).", {}
    if document.get("format") != FORMAT:
        return False, f"Unknown certificate format {document.get('format')!r}.", {}
    if document.get("key_id") != key_id_of(key):
        return False, f"Signed with key {document.get('key_id')}, not with the given key {key_id_of(key)}.", body
    try:
        key.verify(signature, canonical(body))
    except InvalidSignature:
        return False, "The signature does not match: the certificate was altered or signed by another key.", body
    return True, f"Signature valid (key {key_id_of(key)}); verdict: {body.get('verdict')}.", body
