"""The agent runs signed scripts for real, and runs nothing it cannot verify."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time

import pytest

from agent.scripts import ScriptRefused, run_signed_script
from portal import signing

from .signing_helpers import flip_signature_byte, other_key, sign_with

pytestmark = pytest.mark.skipif(os.name == "nt" or not shutil.which("sh"), reason="runs POSIX sh scripts")


def touch_script(marker) -> str:
    return f'echo "ran as $0"\necho done > "{marker}"\nexit 0\n'


def test_a_signed_sh_script_runs_and_reports_its_exit_code_and_output(tmp_path):
    marker = tmp_path / "marker"
    envelope = signing.sign_script("touch-marker", 1, "sh", touch_script(marker), job="job-7")
    result = run_signed_script(envelope, signing.public_jwk(), timeout=30)
    assert marker.read_text() == "done\n"
    assert result.exit_code == 0 and result.status == "succeeded" and not result.timed_out
    assert "ran as" in result.output and result.command[0] == "sh"
    assert result.report()["job"] == "job-7"
    # The private working directory is gone afterwards.
    assert not os.path.exists(os.path.dirname(result.command[1]))


def test_the_same_script_with_one_flipped_signature_byte_is_refused_and_never_runs(tmp_path, caplog):
    marker = tmp_path / "marker"
    envelope = signing.sign_script("touch-marker", 1, "sh", touch_script(marker))
    tampered = flip_signature_byte(envelope, 100)
    with caplog.at_level(logging.WARNING, logger="patchportal"), pytest.raises(ScriptRefused) as refused:
        run_signed_script(tampered, signing.public_jwk(), timeout=30)
    assert not marker.exists()
    assert refused.value.report() == {"status": "refused", "reason": "the signature does not match the payload"}
    assert "refused a script" in caplog.text


def _unknown_interpreter(marker):
    payload = {**signing.sign_script("x", 1, "sh", touch_script(marker))["payload"], "interpreter": "perl"}
    return signing.sign(payload)


def _missing_field(marker):
    payload = signing.sign_script("x", 1, "sh", touch_script(marker))["payload"]
    del payload["issued_at"]
    return signing.sign(payload)


def _tampered_body(marker):
    envelope = signing.sign_script("x", 1, "sh", "true\n")
    body = touch_script(marker)
    payload = {**envelope["payload"], "body": body, "sha256": hashlib.sha256(body.encode()).hexdigest()}
    return {**envelope, "payload": payload}


def _another_key(marker):
    return sign_with(other_key(), signing.sign_script("x", 1, "sh", touch_script(marker))["payload"])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_tampered_body, "signature does not match"),
        (_another_key, "another key"),
        (_missing_field, "issued_at"),
        (_unknown_interpreter, "interpreter"),
        (lambda marker: {"payload": {"kind": "script", "body": touch_script(marker)}}, "another key"),
    ],
    ids=["tampered-body", "another-key", "missing-field", "unknown-interpreter", "unsigned"],
)
def test_anything_not_validly_signed_is_refused_before_it_runs(tmp_path, make, reason):
    marker = tmp_path / "marker"
    with pytest.raises(ScriptRefused, match=reason):
        run_signed_script(make(marker), signing.public_jwk(), timeout=30)
    assert not marker.exists()


def test_without_a_pinned_key_every_script_is_refused(tmp_path):
    marker = tmp_path / "marker"
    with pytest.raises(ScriptRefused, match="no script-signing key is pinned"):
        run_signed_script(signing.sign_script("x", 1, "sh", touch_script(marker)), None)
    assert not marker.exists()


def test_dry_run_verifies_and_reports_the_command_without_running_it(tmp_path):
    marker = tmp_path / "marker"
    envelope = signing.sign_script("touch-marker", 4, "bash", touch_script(marker))
    result = run_signed_script(envelope, signing.public_jwk(), dry_run=True)
    assert not marker.exists()
    assert result.status == "dry_run" and result.exit_code is None
    assert result.command == ["bash", "<script>"] and result.version == 4
    with pytest.raises(ScriptRefused):
        run_signed_script(flip_signature_byte(envelope, 0), signing.public_jwk(), dry_run=True)


def test_a_failing_script_reports_its_exit_code_and_the_end_of_long_output():
    body = "i=0\nwhile [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done\necho last >&2\nexit 3\n"
    result = run_signed_script(signing.sign_script("chatty", 1, "sh", body), signing.public_jwk(), output_limit=1024)
    assert result.exit_code == 3 and result.status == "failed"
    assert result.output_truncated and len(result.output) == 1024
    assert result.output.endswith("line-2999\nlast\n")


def test_a_script_past_its_time_limit_is_killed_with_its_children(tmp_path):
    marker = tmp_path / "late"
    body = f'(sleep 3; echo late > "{marker}") &\nsleep 30\n'
    started = time.monotonic()
    result = run_signed_script(signing.sign_script("slow", 1, "sh", body), signing.public_jwk(), timeout=1)
    assert result.timed_out and result.status == "timed_out"
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists()  # the background child died with the script's process group


def test_a_python3_script_runs_from_its_exact_body():
    body = "import sys\nprint('Grüße', sys.version_info[0])\n"
    result = run_signed_script(signing.sign_script("py", 1, "python3", body), signing.public_jwk(), timeout=30)
    assert result.exit_code == 0
    assert result.output.strip() == "Grüße 3"
