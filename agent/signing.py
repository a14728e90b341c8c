"""Verifying what the portal signed: RSASSA-PKCS1-v1_5 with SHA-256, standard library only.

The portal signs the canonical JSON of a payload (PROTOCOL.md, "Signed scripts") with the key
this agent pinned at enrollment. Verification follows RFC 8017 §8.2.2 with the
encode-and-compare method of §9.2: the expected encoded message is built from the hash and
compared whole, in constant time. The padding of the received signature is never parsed, so
the classic forgeries against lenient parsers (Bleichenbacher 2006 and its variants) have
nothing to work on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

# DER of DigestInfo{ AlgorithmIdentifier{ id-sha256, NULL }, OCTET STRING(32) } (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_MODULUS_BITS = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class SignatureInvalid(Exception):
    """The envelope is not exactly what the pinned key signed."""


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The signed bytes; the same function as the portal's ``portal.signing.canonical``."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def b64url_decode(text: object, what: str) -> bytes:
    """Strict base64url without padding: other characters, or a non-canonical form, are refused."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise SignatureInvalid(f"{what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureInvalid(f"{what} is not base64url") from None
    # Unused trailing bits would let several strings decode to the same bytes.
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != text:
        raise SignatureInvalid(f"{what} is not canonical base64url")
    return data


def key_id(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of an RSA JWK, base64url."""
    required = {"e": jwk.get("e"), "kty": jwk.get("kty"), "n": jwk.get("n")}
    digest = hashlib.sha256(canonical(required)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_jwk(jwk: object) -> dict[str, str]:
    """A usable RSA public key (kty, n, e, kid), or SignatureInvalid saying why not.

    ``kid`` must be the key's own thumbprint when given, so a pinned key names itself truly.
    """
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
        raise SignatureInvalid("the signing key is not an RSA JWK")
    n = int.from_bytes(b64url_decode(jwk.get("n"), "the key's n"), "big")
    e = int.from_bytes(b64url_decode(jwk.get("e"), "the key's e"), "big")
    if n.bit_length() < MIN_MODULUS_BITS or n % 2 == 0:
        raise SignatureInvalid(f"the signing key's modulus is not an RSA modulus of {MIN_MODULUS_BITS}+ bits")
    if e < 3 or e % 2 == 0 or e >= n:
        raise SignatureInvalid("the signing key's exponent is not valid")
    kid = key_id(jwk)
    if jwk.get("kid", kid) != kid:
        raise SignatureInvalid("the signing key's kid is not its RFC 7638 thumbprint")
    return {"kty": "RSA", "n": str(jwk["n"]), "e": str(jwk["e"]), "kid": kid}


def pkcs1_v15_sha256_verify(message: bytes, signature: bytes, n: int, e: int) -> bool:
    """RSASSA-PKCS1-V1_5-VERIFY (RFC 8017 §8.2.2) with SHA-256."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:  # step 1: the length check comes first
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:  # RSAVP1: the signature representative must be below the modulus
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


def verify(envelope: object, jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of ``envelope`` if the pinned key ``jwk`` signed it, else SignatureInvalid.

    A payload that carries a ``body`` must also carry its ``sha256``, and the two must agree.
    """
    key = check_jwk(jwk)
    if not isinstance(envelope, Mapping):
        raise SignatureInvalid("the envelope is not a JSON object")
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise SignatureInvalid("the envelope has no payload object")
    if envelope.get("kid") != key["kid"]:
        raise SignatureInvalid("the envelope was signed with another key than the pinned one")
    signature = b64url_decode(envelope.get("signature"), "the signature")
    try:
        message = canonical(payload)
    except (TypeError, ValueError):
        raise SignatureInvalid("the payload cannot be encoded canonically") from None
    n = int.from_bytes(b64url_decode(key["n"], "the key's n"), "big")
    e = int.from_bytes(b64url_decode(key["e"], "the key's e"), "big")
    if not pkcs1_v15_sha256_verify(message, signature, n, e):
        raise SignatureInvalid("the signature does not match the payload")
    if "body" in payload:
        _check_body_digest(payload)
    return payload


def _check_body_digest(payload: Mapping[str, Any]) -> None:
    body, declared = payload.get("body"), payload.get("sha256")
    if not isinstance(body, str) or not isinstance(declared, str):
        raise SignatureInvalid("the payload's body and sha256 must be strings")
    try:
        actual = hashlib.sha256(body.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        raise SignatureInvalid("the payload's body is not valid Unicode") from None
    if not hmac.compare_digest(actual, declared):
        raise SignatureInvalid("the payload's sha256 does not match its body")
