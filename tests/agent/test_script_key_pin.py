"""The script-signing key is pinned in the state directory at enrollment and never swapped silently."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agent.signing import SignatureInvalid
from agent.state import ScriptKeyMismatch, State
from portal import signing

from .signing_helpers import jwk_of, other_key


def test_the_first_key_is_pinned_in_a_private_file(tmp_path):
    state = State(str(tmp_path / "state"))
    assert state.load_script_key() is None
    assert state.pin_script_key(signing.public_jwk()) is True
    assert state.load_script_key() == signing.public_jwk()
    assert json.loads(Path(state.script_key_path).read_text())["kid"] == signing.public_jwk()["kid"]
    if os.name != "nt":
        assert stat.S_IMODE(os.stat(state.script_key_path).st_mode) == 0o600


def test_the_same_key_again_changes_nothing(tmp_path):
    state = State(str(tmp_path))
    state.pin_script_key(signing.public_jwk())
    assert state.pin_script_key(signing.public_jwk()) is False


def test_a_different_key_is_refused_unless_replacing_is_asked_for(tmp_path):
    state = State(str(tmp_path))
    state.pin_script_key(signing.public_jwk())
    other = jwk_of(other_key())
    with pytest.raises(ScriptKeyMismatch, match="is not the pinned key"):
        state.pin_script_key(other)
    assert state.load_script_key() == signing.public_jwk()
    assert state.pin_script_key(other, replace=True) is True
    assert state.load_script_key() == other


def test_a_malformed_key_pins_nothing(tmp_path):
    state = State(str(tmp_path))
    with pytest.raises(SignatureInvalid):
        state.pin_script_key({**signing.public_jwk(), "kid": "not-its-thumbprint"})
    assert state.load_script_key() is None


def test_re_enrolling_keeps_the_pinned_key(tmp_path):
    state = State(str(tmp_path))
    state.pin_script_key(signing.public_jwk())
    state.save_enrollment("dev-2", "pdt_new", "https://portal.example.com", 300)
    assert state.load_script_key() == signing.public_jwk()
