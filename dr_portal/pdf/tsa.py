"""The portal's own RFC 3161 time-stamping authority: a key and certificate made once, and a responder.

`tsa_respond(request_der)` turns a DER TimeStampReq into a DER TimeStampResp. Report signing
calls it in-process (the default, `REPORT_TSA_URL` unset); `manage.py tsa_serve` answers the
same function over HTTP on loopback for anything else that wants a token from it. What it
refuses, it refuses the RFC 3161 way (a rejection status naming the failure), never with an
exception, so a client always learns why.

A time-stamp proves that the signature existed at that time, as the TSA's clock says. The
local TSA's clock is this machine's: it shows when the report was signed for whoever trusts
this portal, not for a third party who does not. For that, point `REPORT_TSA_URL` at an
external (qualified) TSA.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.conf import settings

from dr_portal.pdf.selfsigned import self_signed_publish

logger = logging.getLogger(__name__)

TSA_KEY_FILE = "report-tsa.pem"  # under VAR_DIR/keys/: private key then certificate
TSA_VALIDITY = timedelta(days=3653)
# The local TSA's policy: an OID made from a UUID (ITU-T X.667, arc 2.25), so nobody else's arc is borrowed.
TSA_POLICY = "2.25.262174386542217335411436128335329962201"
# Digest algorithms a request may use, with the length its imprint must have.
IMPRINT_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}


@dataclass(frozen=True)
class TsaIdentity:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))


def _make_identity(path: Path) -> None:
    """A P-256 key and a self-signed certificate good only for time-stamping; first writer wins."""
    made = self_signed_publish(
        path,
        key=ec.generate_private_key(ec.SECP256R1()),
        common_name="DR Portal local time-stamping authority",
        organisation="DR Portal",
        validity=TSA_VALIDITY,
        # RFC 3161 §2.3: the TSA certificate has time-stamping as its only extended key usage, critical.
        critical_extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])],
    )
    if made:
        logger.info("Made the local time-stamping authority's key and certificate in VAR_DIR/keys/%s", path.name)


@lru_cache(maxsize=1)
def tsa_identity() -> TsaIdentity:
    """The local TSA's key and certificate, made on first use; cached per process."""
    path = Path(settings.VAR_DIR) / "keys" / TSA_KEY_FILE
    if not path.exists():
        _make_identity(path)
    data = path.read_bytes()
    key = serialization.load_pem_private_key(data, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"VAR_DIR/keys/{TSA_KEY_FILE} does not hold an EC key")
    return TsaIdentity(key=key, certificate=x509.load_pem_x509_certificates(data)[0])


# --- The responder ------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


class TimeStampReply(core.Sequence):
    """RFC 3161 TimeStampResp with the token optional, as the RFC has it (asn1crypto's requires one,
    so it cannot read a rejection)."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def _rejection(failure: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({failure}),
        }
    )
    return TimeStampReply({"status": status}).dump()


def _checked(request_der: bytes) -> tsp.TimeStampReq:
    try:
        request = tsp.TimeStampReq.load(request_der)
        request.native  # noqa: B018 - asn1crypto parses lazily; this forces the whole structure
        if request.dump(force=True) != request_der:
            raise ValueError("trailing or non-DER bytes")
    except (ValueError, TypeError) as exc:
        raise _Rejected("bad_data_format", f"not a DER TimeStampReq ({exc})") from exc
    if request["version"].native != "v1":
        raise _Rejected("bad_request", "only version 1 requests are answered")
    imprint = request["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in IMPRINT_LENGTHS:
        raise _Rejected("bad_alg", f"digest algorithm {algorithm} is not accepted (sha256, sha384, sha512 are)")
    if len(imprint["hashed_message"].native) != IMPRINT_LENGTHS[algorithm]:
        raise _Rejected("bad_data_format", f"the {algorithm} imprint has the wrong length")
    policy = request["req_policy"].native
    if policy is not None and policy != TSA_POLICY:
        raise _Rejected("unaccepted_policy", f"policy {policy} is not this TSA's ({TSA_POLICY})")
    if request["extensions"].native:
        raise _Rejected("unaccepted_extension", "request extensions are not supported")
    return request


def _token(request: tsp.TimeStampReq, identity: TsaIdentity, now: datetime) -> cms.ContentInfo:
    cert = identity.asn1_certificate
    info: dict[str, object] = {
        "version": "v1",
        "policy": TSA_POLICY,
        "message_imprint": request["message_imprint"],
        "serial_number": secrets.randbits(127),
        "gen_time": now,
        "accuracy": {"seconds": 1},
        "ordering": False,
        "tsa": asn1_x509.GeneralName(name="directory_name", value=cert.subject),
    }
    if request["nonce"].native is not None:
        info["nonce"] = request["nonce"]
    tst_info = tsp.TSTInfo(info).dump()
    cert_der = cert.dump()
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(now)})]}),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha256"},
                                    "cert_hash": hashlib.sha256(cert_der).digest(),
                                    "issuer_serial": {
                                        "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
                                        "serial_number": cert.serial_number,
                                    },
                                }
                            ]
                        }
                    ],
                }
            ),
        ]
    )
    # RFC 5652 §5.4: the signature is over the DER encoding of the attributes as a SET.
    signature = identity.key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        }
    )
    signed_data: dict[str, object] = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_info)},
        "signer_infos": [signer],
    }
    if request["cert_req"].native:
        signed_data["certificates"] = [cert]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def tsa_respond(request_der: bytes, *, identity: TsaIdentity | None = None, now: datetime | None = None) -> bytes:
    """Answer one RFC 3161 request (DER in, DER out): a granted token, or a rejection that says why."""
    try:
        request = _checked(request_der)
    except _Rejected as rejected:
        return _rejection(rejected.failure, rejected.text)
    try:
        identity = identity or tsa_identity()
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        token = _token(request, identity, moment)
    except Exception:
        logger.exception("the local time-stamping authority failed")
        return _rejection("system_failure", "the time-stamping authority failed; see its log")
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
