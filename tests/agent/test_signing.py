"""The agent's RSASSA-PKCS1-v1_5 verifier against the portal's signer and `cryptography`."""

from __future__ import annotations

import hashlib

import pytest

from agent import signing as agent_signing
from agent.signing import SignatureInvalid, check_jwk, key_id, pkcs1_v15_sha256_verify, verify
from portal import signing

from .signing_helpers import flip_signature_byte, jwk_of, other_key, sign_with, unb64url, with_signature_bytes

# RFC 7515 Appendix A.2: an RS256 signature over the JWS signing input, with the RFC's key.
RFC7515_N = (
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-"
    "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2Ca"
    "pHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb5"
    "4h4FRWyuXpoQ"
)
RFC7515_SIGNING_INPUT = (
    b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    b"cnVlfQ"
)
RFC7515_SIGNATURE = (
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7"
    "t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi"
    "12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_Ioyp"
    "GlUPQGe77Rw"
)
# RFC 7638 §3.1: the example key and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "e": "AQAB",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
    "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu"
    "6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awa"
    "pJzKnqDKgw",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def script(**overrides) -> dict:
    return signing.sign_script("hello", 2, "sh", "echo hello\n", job=overrides.pop("job", "job-1"), **overrides)


def as_int(text: str) -> int:
    return int.from_bytes(unb64url(text), "big")


# --- what must verify -----------------------------------------------------------------------


def test_a_script_signed_by_the_portal_verifies_with_its_public_key():
    envelope = script()
    assert verify(envelope, signing.public_jwk()) == envelope["payload"]
    assert envelope["payload"]["sha256"] == hashlib.sha256(b"echo hello\n").hexdigest()


def test_the_rfc_7515_a2_known_answer_verifies():
    signature = unb64url(RFC7515_SIGNATURE)
    assert pkcs1_v15_sha256_verify(RFC7515_SIGNING_INPUT, signature, as_int(RFC7515_N), 65537)
    assert not pkcs1_v15_sha256_verify(RFC7515_SIGNING_INPUT + b".", signature, as_int(RFC7515_N), 65537)


@pytest.mark.parametrize(("bits", "exponent"), [(2048, 65537), (3072, 65537), (3072, 3)])
def test_signatures_made_by_cryptography_directly_verify(bits, exponent):
    key = other_key(bits, exponent)
    payload = {"kind": "script", "body": "Grüße\n", "sha256": hashlib.sha256("Grüße\n".encode()).hexdigest()}
    assert verify(sign_with(key, payload), jwk_of(key)) == payload


def test_agent_and_portal_agree_on_canonical_bytes_and_thumbprints():
    payload = {"b": "Grüße ✓", "a": 1, "nested": {"z": [1, "x"], "y": None}}
    assert agent_signing.canonical(payload) == signing.canonical(payload)
    assert signing.canonical(payload) == b'{"a":1,"b":"Gr\\u00fc\\u00dfe \\u2713","nested":{"y":null,"z":[1,"x"]}}'
    assert key_id(RFC7638_JWK) == signing.thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT
    assert signing.public_jwk()["kid"] == key_id(signing.public_jwk())


# --- what must be refused -------------------------------------------------------------------


def test_one_changed_byte_of_the_body_is_refused_even_with_a_matching_sha256():
    envelope = script()
    body = "echo hellp\n"
    forged = {**envelope["payload"], "body": body, "sha256": hashlib.sha256(body.encode()).hexdigest()}
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify({**envelope, "payload": forged}, signing.public_jwk())


def test_a_changed_body_with_the_old_sha256_is_refused():
    envelope = script()
    with pytest.raises(SignatureInvalid):
        verify({**envelope, "payload": {**envelope["payload"], "body": "rm -rf /\n"}}, signing.public_jwk())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "scripts"),
        ("name", "hellO"),
        ("version", 3),
        ("interpreter", "bash"),
        ("sha256", "0" * 64),
        ("job", "job-2"),
        ("issued_at", "2030-01-01T00:00:00Z"),
        ("extra", "added"),
    ],
)
def test_any_changed_or_added_payload_field_is_refused(field, value):
    envelope = script()
    with pytest.raises(SignatureInvalid):
        verify({**envelope, "payload": {**envelope["payload"], field: value}}, signing.public_jwk())


def test_a_removed_payload_field_is_refused():
    envelope = script()
    payload = {k: v for k, v in envelope["payload"].items() if k != "job"}
    with pytest.raises(SignatureInvalid):
        verify({**envelope, "payload": payload}, signing.public_jwk())


@pytest.mark.parametrize("index", [0, 1, 191, 383])
def test_one_flipped_bit_anywhere_in_the_signature_is_refused(index):
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify(flip_signature_byte(script(), index), signing.public_jwk())


def test_a_truncated_or_padded_signature_is_refused():
    envelope = script()
    signature = unb64url(envelope["signature"])
    assert len(signature) == 384  # 3072 bits
    for wrong_length in (signature[:-1], signature[1:], b"\x00" + signature, b""):
        with pytest.raises(SignatureInvalid):
            verify(with_signature_bytes(envelope, wrong_length), signing.public_jwk())


def test_a_signature_not_below_the_modulus_is_refused():
    jwk = signing.public_jwk()
    envelope = with_signature_bytes(script(), unb64url(jwk["n"]))
    with pytest.raises(SignatureInvalid):
        verify(envelope, jwk)


@pytest.mark.parametrize("mangle", [lambda s: s + "=", lambda s: s[:10] + " " + s[10:], lambda s: s[:5] + "+" + s[6:]])
def test_a_signature_that_is_not_strict_base64url_is_refused(mangle):
    envelope = script()
    with pytest.raises(SignatureInvalid, match="base64url"):
        verify({**envelope, "signature": mangle(envelope["signature"])}, signing.public_jwk())


def test_a_non_canonical_base64url_signature_is_refused():
    # 256 bytes (a 2048-bit key) end in 4 spare bits; setting one gives another string for the same bytes.
    key = other_key(2048)
    envelope = sign_with(key, {"kind": "test"})
    text = envelope["signature"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
    assert unb64url(twin) == unb64url(text)
    assert verify(envelope, jwk_of(key)) == {"kind": "test"}
    with pytest.raises(SignatureInvalid, match="canonical"):
        verify({**envelope, "signature": twin}, jwk_of(key))


def test_a_signature_made_with_another_key_is_refused_whatever_kid_it_claims():
    payload = script()["payload"]
    portal_kid = signing.public_jwk()["kid"]
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify(sign_with(other_key(), payload, kid=portal_kid), signing.public_jwk())
    with pytest.raises(SignatureInvalid, match="another key"):
        verify(sign_with(other_key(), payload), signing.public_jwk())


def test_a_kid_mismatch_is_refused_even_with_a_good_signature():
    envelope = script()
    with pytest.raises(SignatureInvalid, match="another key"):
        verify({**envelope, "kid": key_id(jwk_of(other_key()))}, signing.public_jwk())
    with pytest.raises(SignatureInvalid, match="another key"):
        verify({k: v for k, v in envelope.items() if k != "kid"}, signing.public_jwk())


def test_a_payload_whose_sha256_does_not_match_its_body_is_refused_though_signed():
    payload = {**script()["payload"], "sha256": hashlib.sha256(b"something else").hexdigest()}
    with pytest.raises(SignatureInvalid, match="sha256 does not match"):
        verify(signing.sign(payload), signing.public_jwk())


@pytest.mark.parametrize("envelope", [None, [], "x", {}, {"payload": "x", "kid": "k", "signature": ""}])
def test_malformed_envelopes_are_refused(envelope):
    with pytest.raises(SignatureInvalid):
        verify(envelope, signing.public_jwk())


def test_unusable_pinned_keys_are_refused():
    good = signing.public_jwk()
    small = jwk_of(other_key(1024))
    for jwk in (None, {}, {**good, "kty": "EC"}, {**good, "kid": RFC7638_THUMBPRINT}, small, {**good, "e": "AQ"}):
        with pytest.raises(SignatureInvalid):
            check_jwk(jwk)
    assert check_jwk(good) == good


def test_encode_and_compare_refuses_a_forgery_that_a_padding_parser_accepts():
    """Bleichenbacher's e=3 forgery: the right prefix, garbage after the hash, no private key.

    A verifier that parses the padding and reads the hash without checking the rest accepts
    it; building the whole expected encoding and comparing it, as RFC 8017 asks, does not.
    """
    key = other_key(3072, 3)
    jwk = jwk_of(key)
    n, k = as_int(jwk["n"]), 384
    payload = {"kind": "script", "body": "id\n", "sha256": hashlib.sha256(b"id\n").hexdigest()}
    digest_info = agent_signing.SHA256_DIGEST_INFO + hashlib.sha256(signing.canonical(payload)).digest()
    prefix = b"\x00\x01" + b"\xff" * 8 + b"\x00" + digest_info
    target = int.from_bytes(prefix + b"\x00" * (k - len(prefix)), "big")
    forged = integer_cube_root_ceiling(target)
    signature = forged.to_bytes(k, "big")
    assert padding_parser_accepts(pow(forged, 3, n).to_bytes(k, "big"), digest_info)
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify(sign_with(key, payload) | {"signature": signing.b64url(signature)}, jwk)


def integer_cube_root_ceiling(value: int) -> int:
    root = 1 << ((value.bit_length() + 2) // 3)
    while True:  # Newton's method from above converges to the floor
        smaller = (2 * root + value // (root * root)) // 3
        if smaller >= root:
            break
        root = smaller
    return root if root**3 >= value else root + 1


def padding_parser_accepts(em: bytes, digest_info: bytes) -> bool:
    """The lenient verifier this module must not be: skips the FFs, reads the hash, ignores the rest."""
    if em[:2] != b"\x00\x01":
        return False
    end = em.index(b"\x00", 2)
    return em[end + 1 : end + 1 + len(digest_info)] == digest_info
