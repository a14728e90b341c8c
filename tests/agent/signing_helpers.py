"""Keys and envelopes for the signing tests, made with `cryptography` beside the portal's own key."""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from portal import signing


@functools.cache
def other_key(bits: int = 3072, exponent: int = 65537) -> rsa.RSAPrivateKey:
    """A key the portal does not have (cached: generating RSA keys is slow)."""
    return rsa.generate_private_key(public_exponent=exponent, key_size=bits)


def jwk_of(key: rsa.RSAPrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": signing.b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": signing.b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }
    return {**jwk, "kid": signing.thumbprint(jwk)}


def sign_with(key: rsa.RSAPrivateKey, payload: dict, kid: str | None = None) -> dict:
    """An envelope signed by ``key`` directly through `cryptography`, claiming ``kid``."""
    signature = key.sign(signing.canonical(payload), padding.PKCS1v15(), hashes.SHA256())
    return {"payload": payload, "kid": kid or jwk_of(key)["kid"], "signature": signing.b64url(signature)}


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def with_signature_bytes(envelope: dict, signature: bytes) -> dict:
    return {**envelope, "signature": signing.b64url(signature)}


def flip_signature_byte(envelope: dict, index: int) -> dict:
    signature = bytearray(unb64url(envelope["signature"]))
    signature[index] ^= 0x01
    return with_signature_bytes(envelope, bytes(signature))
