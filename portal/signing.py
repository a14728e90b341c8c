"""The server's script-signing key, its public JWK, and signed envelopes for agents.

RSASSA-PKCS1-v1_5 with SHA-256 (RS256) over a canonical JSON encoding of the payload. Agents
receive the public key at enrollment, pin it, and verify every script with the standard
library alone (agent/signing.py); agent/PROTOCOL.md describes the envelope.

The private key is a PEM file (settings.SCRIPT_SIGNING_KEY_FILE). It is created on first use
if missing; every web server and worker of one installation must share the same file, or
agents enrolled through one server would refuse scripts signed by another.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["INTERPRETERS", "canonical", "public_jwk", "sign", "sign_script"]

KEY_BITS = 3072
PUBLIC_EXPONENT = 65537
INTERPRETERS = ("sh", "bash", "powershell", "python3")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def canonical(payload: dict) -> bytes:
    """The exact bytes that are signed; the agent rebuilds them from the payload it received."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


# --- the key --------------------------------------------------------------------------------


def _create_key_file(path: str) -> None:
    """Write a new key to ``path`` unless another process got there first.

    The key is written to a private temporary file and hard-linked into place: ``link``
    fails if the name exists, so of two processes racing, exactly one key wins and the
    loser reads the winner's.
    """
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor, temporary = tempfile.mkstemp(prefix=".script-signing-", suffix=".pem", dir=directory)  # 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


@functools.lru_cache(maxsize=4)
def _key_at(path: str) -> rsa.RSAPrivateKey:
    try:
        pem = Path(path).read_bytes()
    except FileNotFoundError:
        _create_key_file(path)
        pem = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"SCRIPT_SIGNING_KEY_FILE {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise ImproperlyConfigured(f"SCRIPT_SIGNING_KEY_FILE {path} must hold an RSA key of at least {KEY_BITS} bits")
    return key


def private_key() -> rsa.RSAPrivateKey:
    return _key_at(str(settings.SCRIPT_SIGNING_KEY_FILE))


def thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    return b64url(hashlib.sha256(canonical(required)).digest())


@functools.lru_cache(maxsize=4)
def _jwk_at(path: str) -> dict:
    numbers = _key_at(path).public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64url(_int_bytes(numbers.n)), "e": b64url(_int_bytes(numbers.e))}
    return {**jwk, "kid": thumbprint(jwk)}


def public_jwk() -> dict:
    """The public key as a JWK (RFC 7517), with its RFC 7638 thumbprint as ``kid``."""
    return dict(_jwk_at(str(settings.SCRIPT_SIGNING_KEY_FILE)))


# --- signing --------------------------------------------------------------------------------


def sign(payload: dict) -> dict:
    signature = private_key().sign(canonical(payload), padding.PKCS1v15(), hashes.SHA256())
    return {"payload": payload, "kid": public_jwk()["kid"], "signature": b64url(signature)}


def sign_script(
    name: str, version: int, interpreter: str, body: str, job: str = "", now: datetime | None = None
) -> dict:
    """A signed script envelope (agent/PROTOCOL.md, "Signed scripts")."""
    if interpreter not in INTERPRETERS:
        raise ValueError(f"interpreter must be one of {', '.join(INTERPRETERS)}, not {interpreter!r}")
    if not isinstance(version, int) or isinstance(version, bool):
        raise TypeError("version must be an int")
    if not name or not isinstance(name, str) or not isinstance(body, str) or not isinstance(job, str):
        raise TypeError("name (not empty), body and job must be strings")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    payload = {
        "kind": "script",
        "name": name,
        "version": version,
        "interpreter": interpreter,
        "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        "body": body,
        "job": job,
        "issued_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return sign(payload)
