"""The state directory: who this device is, its token, the pinned script key, the hashes last sent.

The token is the only secret the agent holds, so it lives in a file of its own, mode 0600,
never in the config file (which is often world-readable) and never in a log line. The
script-signing key is public, but whoever could replace it could run code as root, so it
lives in the same private directory and is pinned: never replaced without being told to.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime, timezone

from .signing import check_jwk

DEVICE_FILE = "device.json"
TOKEN_FILE = "device_token"  # noqa: S105 - a file name, not a secret
LAST_SENT_FILE = "last_sent.json"
SCRIPT_KEY_FILE = "script_signing_key.json"


class ScriptKeyMismatch(Exception):
    """The portal offered a script-signing key other than the one this agent pinned."""


def write_private_file(path: str, text: str) -> None:
    """Write ``text`` atomically to a file only its owner can read (0600 on POSIX)."""
    directory = os.path.dirname(path) or "."
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        # mkstemp already creates the file 0600; the explicit chmod documents the intent.
        if os.name != "nt":
            os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class State:
    def __init__(self, directory: str):
        self.directory = directory

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @property
    def token_path(self) -> str:
        return self._path(TOKEN_FILE)

    def ensure_directory(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        if os.name != "nt":
            os.chmod(self.directory, 0o700)

    def _read_json(self, name: str) -> dict | None:
        try:
            with open(self._path(name), encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def _write_json(self, name: str, data: dict) -> None:
        self.ensure_directory()
        write_private_file(self._path(name), json.dumps(data, indent=2, sort_keys=True) + "\n")

    def save_enrollment(self, device_id: str, device_token: str, server: str, checkin_interval: int | None) -> None:
        self.ensure_directory()
        # Token first: a device.json without a token would look enrolled but fail with 401.
        write_private_file(self.token_path, device_token + "\n")
        self._write_json(
            DEVICE_FILE,
            {
                "device_id": device_id,
                "server": server,
                "checkin_interval": checkin_interval,
                "enrolled_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        # Hashes sent under a previous enrollment say nothing about the new device record.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(LAST_SENT_FILE))

    def load_device(self) -> dict | None:
        return self._read_json(DEVICE_FILE)

    def load_token(self) -> str | None:
        try:
            with open(self.token_path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except FileNotFoundError:
            return None
        return token or None

    def load_last_sent(self) -> dict[str, str]:
        data = self._read_json(LAST_SENT_FILE) or {}
        return {key: value for key, value in data.items() if isinstance(value, str)}

    def save_last_sent(self, kind: str, digest: str) -> None:
        data = self.load_last_sent()
        if data.get(kind) == digest:
            return
        data[kind] = digest
        self._write_json(LAST_SENT_FILE, data)

    @property
    def script_key_path(self) -> str:
        return self._path(SCRIPT_KEY_FILE)

    def load_script_key(self) -> dict | None:
        """The pinned public key (a JWK), or None before the first enrollment that delivered one."""
        return self._read_json(SCRIPT_KEY_FILE)

    def pin_script_key(self, jwk: object, replace: bool = False) -> bool:
        """Pin ``jwk`` if no key is pinned yet (True); the same key again changes nothing (False).

        A different key raises ScriptKeyMismatch unless ``replace`` says an operator asked for
        it: a portal, or someone posing as one, must not swap the key that authorises scripts.
        A malformed key raises signing.SignatureInvalid and pins nothing.
        """
        key = check_jwk(jwk)
        pinned = self.load_script_key()
        if pinned is not None and pinned.get("kid") == key["kid"]:
            return False
        if pinned is not None and not replace:
            raise ScriptKeyMismatch(
                f"the portal's script-signing key {key['kid']} is not the pinned key {pinned.get('kid')}"
            )
        self._write_json(SCRIPT_KEY_FILE, key)
        return True
