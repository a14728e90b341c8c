"""The two hashes against values worked out by hand from PROTOCOL.md's definition.

The expected digests were computed outside Python from the literal byte strings shown
(``printf '…' | sha256sum``), so these tests do not just compare the code with itself.
"""

from __future__ import annotations

import hashlib
import json

from agent.backends.dpkg import parse_dpkg_query
from agent.hashing import inventory_hash, inventory_line, updates_hash

from .conftest import read_data

LIBSSL = {
    "name": "libssl3",
    "version": "3.0.15-1~deb12u1",
    "arch": "amd64",
    "source": "openssl",
    "source_version": "3.0.15-1~deb12u1",
}
ADDUSER = {"name": "adduser", "version": "3.134", "arch": "all", "source": "adduser", "source_version": "3.134"}

# printf 'dpkg\nadduser\t3.134\tall\tadduser\t3.134\nlibssl3\t3.0.15-1~deb12u1\tamd64\topenssl\t3.0.15-1~deb12u1\n'
DPKG_TEXT = "dpkg\nadduser\t3.134\tall\tadduser\t3.134\nlibssl3\t3.0.15-1~deb12u1\tamd64\topenssl\t3.0.15-1~deb12u1\n"

# printf 'windows\nNotepad++ (64-bit x64)\t8.6.2\t\n'  (a null publisher is written as empty)

# The PROTOCOL.md example updates, serialised by hand with sorted keys and no whitespace.
APT_UPDATE = {
    "kind": "apt",
    "name": "libssl3",
    "arch": "amd64",
    "current_version": "3.0.14-1~deb12u2",
    "available_version": "3.0.15-1~deb12u1",
    "origin": "Debian-Security:12/stable-security",
    "security": True,
}
WINGET_UPDATE = {
    "kind": "winget",
    "id": "Mozilla.Firefox",
    "name": "Mozilla Firefox",
    "current_version": "121.0",
    "available_version": "122.0.1",
    "source": "winget",
}
UPDATES_TEXT = (
    '[{"arch":"amd64","available_version":"3.0.15-1~deb12u1","current_version":"3.0.14-1~deb12u2",'
    '"kind":"apt","name":"libssl3","origin":"Debian-Security:12/stable-security","security":true},'
    '{"available_version":"122.0.1","current_version":"121.0","id":"Mozilla.Firefox","kind":"winget",'
    '"name":"Mozilla Firefox","source":"winget"}]'
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_inventory_hash_matches_the_hand_built_text():
    assert inventory_hash("dpkg", [LIBSSL, ADDUSER]) == sha256(DPKG_TEXT)
    assert sha256(DPKG_TEXT) == HAND_COMPUTED["dpkg"]


def test_inventory_hash_ignores_package_order():
    assert inventory_hash("dpkg", [ADDUSER, LIBSSL]) == inventory_hash("dpkg", [LIBSSL, ADDUSER])


def test_missing_and_null_fields_are_empty_strings():
    package = {"name": "Notepad++ (64-bit x64)", "version": "8.6.2", "publisher": None}
    assert inventory_line("windows", package) == "Notepad++ (64-bit x64)\t8.6.2\t\n"
    assert inventory_hash("windows", [package]) == HAND_COMPUTED["windows"]
    assert (
        inventory_hash("windows", [{"name": "Notepad++ (64-bit x64)", "version": "8.6.2"}])
        == (HAND_COMPUTED["windows"])
    )


def test_empty_inventory_hashes_the_format_line_alone():
    assert inventory_hash("rpm", []) == sha256("rpm\n")


def test_the_format_is_part_of_the_hash():
    package = {"name": "bash", "version": "5.2", "arch": "amd64"}
    assert inventory_hash("dpkg", [package]) != inventory_hash("apk", [package])


def test_updates_hash_matches_the_hand_built_text():
    assert updates_hash([WINGET_UPDATE, APT_UPDATE]) == sha256(UPDATES_TEXT)
    assert sha256(UPDATES_TEXT) == HAND_COMPUTED["updates"]


def test_updates_hash_ignores_order_and_key_order():
    reordered = dict(reversed(list(APT_UPDATE.items())))
    assert updates_hash([APT_UPDATE, WINGET_UPDATE]) == updates_hash([WINGET_UPDATE, reordered])


def test_updates_hash_escapes_non_ascii_like_json_dumps_defaults():
    # json.dumps in PROTOCOL.md keeps ensure_ascii=True: "ü" travels as \u00fc in the hash input.
    update = {"kind": "winget", "id": "X.Y", "name": "Übersetzer"}
    assert updates_hash([update]) == sha256('[{"id":"X.Y","kind":"winget","name":"\\u00dcbersetzer"}]')


def test_empty_updates_hash():
    assert updates_hash([]) == sha256("[]")


def test_agrees_with_the_reference_implementation_on_a_real_inventory():
    """PROTOCOL.md's own code, copied verbatim, on this machine's recorded 887 packages."""

    def reference_inventory_hash(fmt, packages):
        fields = {
            "dpkg": ("name", "version", "arch", "source", "source_version"),
            "rpm": ("name", "version", "arch", "source_rpm"),
            "apk": ("name", "version", "arch", "origin"),
            "windows": ("name", "version", "publisher"),
        }[fmt]
        lines = sorted("\t".join(p.get(f) or "" for f in fields) + "\n" for p in packages)
        return hashlib.sha256((fmt + "\n" + "".join(lines)).encode()).hexdigest()

    def reference_updates_hash(updates):
        items = sorted(json.dumps(u, sort_keys=True, separators=(",", ":")) for u in updates)
        return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()

    packages = parse_dpkg_query(read_data("dpkg", "dpkg-query-debian12.txt"))
    assert inventory_hash("dpkg", packages) == reference_inventory_hash("dpkg", packages)
    assert updates_hash([APT_UPDATE, WINGET_UPDATE]) == reference_updates_hash([APT_UPDATE, WINGET_UPDATE])


# `sha256sum` of the literal texts above (see the module docstring).
HAND_COMPUTED = {
    "dpkg": "b420e41bcf069cddf9cea1256abe002755b9bde31dca2a81d7698efac0117ac9",
    "windows": "367cfaf436d8eacf75a83300e140f9de6b5faa298c7643860143dc46fb4f1455",
    "updates": "b226108b4d944985954d279efee48946ebdf6e04340cace3b9b1bddc9d08ad63",
}
