"""The server's script-signing key: created once, loaded from settings, signing verifiable envelopes."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.exceptions import ImproperlyConfigured

from portal import signing
from tests.agent.signing_helpers import jwk_of, other_key, unb64url

ROOT = Path(__file__).resolve().parents[2]


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_a_missing_key_is_created_0600_in_a_0700_directory(settings, tmp_path):
    settings.SCRIPT_SIGNING_KEY_FILE = tmp_path / "keys" / "signing.pem"
    jwk = signing.public_jwk()
    assert signing.private_key().key_size == 3072
    assert stat.S_IMODE(os.stat(settings.SCRIPT_SIGNING_KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert os.listdir(tmp_path / "keys") == ["signing.pem"]  # no temporary file left behind
    assert set(jwk) == {"kty", "n", "e", "kid"} and jwk["e"] == "AQAB"
    assert len(unb64url(jwk["n"])) == 384


def test_an_existing_key_file_is_used_as_it_is(settings, tmp_path):
    key = other_key(3072)
    path = tmp_path / "shared.pem"
    path.write_bytes(pem(key))
    settings.SCRIPT_SIGNING_KEY_FILE = path
    assert signing.public_jwk() == jwk_of(key)
    assert path.read_bytes() == pem(key)


def test_processes_racing_to_create_the_key_all_end_up_with_the_same_one(tmp_path):
    path = tmp_path / "raced.pem"
    start = time.time() + 2  # every process reaches the missing file at the same moment
    code = (
        "import sys, time\n"
        "from portal.signing import _jwk_at\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "print(_jwk_at(sys.argv[1])['kid'])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path), str(start)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    kids = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert len(kids) == 1 and "" not in kids
    assert os.listdir(tmp_path) == ["raced.pem"]


@pytest.mark.parametrize("content", [lambda: b"not a key", lambda: pem(other_key(2048))], ids=["garbage", "rsa-2048"])
def test_an_unusable_key_file_stops_signing_loudly(settings, tmp_path, content):
    path = tmp_path / "bad.pem"
    path.write_bytes(content())
    settings.SCRIPT_SIGNING_KEY_FILE = path
    with pytest.raises(ImproperlyConfigured, match="SCRIPT_SIGNING_KEY_FILE"):
        signing.public_jwk()


def test_the_key_id_is_the_rfc_7638_thumbprint():
    jwk = signing.public_jwk()
    assert jwk["kid"] == signing.thumbprint(jwk)
    assert len(unb64url(jwk["kid"])) == 32


def test_canonical_is_sorted_compact_ascii_json():
    assert signing.canonical({"b": "é", "a": [1, {"d": None, "c": True}]}) == (
        b'{"a":[1,{"c":true,"d":null}],"b":"\\u00e9"}'
    )


def test_a_script_envelope_carries_every_field_and_a_signature_cryptography_accepts():
    issued = datetime(2026, 11, 21, 15, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    envelope = signing.sign_script("restart-spooler", 3, "powershell", "Restart-Service Spooler\n", "j-9", now=issued)
    assert envelope["kid"] == signing.public_jwk()["kid"]
    assert envelope["payload"] == {
        "kind": "script",
        "name": "restart-spooler",
        "version": 3,
        "interpreter": "powershell",
        "sha256": hashlib.sha256(b"Restart-Service Spooler\n").hexdigest(),
        "body": "Restart-Service Spooler\n",
        "job": "j-9",
        "issued_at": "2026-11-21T14:00:05Z",
    }
    signing.private_key().public_key().verify(
        unb64url(envelope["signature"]),
        signing.canonical(envelope["payload"]),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_issued_at_defaults_to_now_in_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    issued = signing.sign_script("x", 1, "sh", "true\n")["payload"]["issued_at"]
    assert before <= datetime.strptime(issued, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"interpreter": "perl"}, ValueError),
        ({"version": "3"}, TypeError),
        ({"version": True}, TypeError),
        ({"name": ""}, TypeError),
        ({"now": datetime(2026, 1, 1)}, ValueError),  # a naive time
    ],
)
def test_sign_script_refuses_what_an_agent_would_refuse(arguments, error):
    values = {"name": "x", "version": 1, "interpreter": "sh", "body": "true\n", **arguments}
    with pytest.raises(error):
        signing.sign_script(**values)
