"""Parsers for inventory files exported on a machine (air-gapped import, tests, the simulator).

The agent parses the same command outputs on the machine itself; this module reads them
on the server, where a bad line must be reported with its number rather than skipped.
"""

from __future__ import annotations

__all__ = ["ParseError", "parse_dpkg_query", "parse_rpm_qa"]


class ParseError(ValueError):
    pass


def parse_dpkg_query(text: str) -> list[dict]:
    """`${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}`."""
    packages = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 6:
            raise ParseError(f"line {number}: expected 6 tab-separated fields, got {len(fields)}")
        status, binary, version, arch, source, source_version = fields
        # "ii " is installed; "rc " (removed, config files left) and other states are not.
        if status.strip() != "ii":
            continue
        if not binary or not version:
            raise ParseError(f"line {number}: package name and version are required")
        name = binary.split(":", 1)[0]  # ${binary:Package} adds ":arch" for multi-arch packages
        packages.append(
            {
                "name": name,
                "version": version,
                "arch": arch,
                "source": source or name,
                "source_version": source_version or version,
            }
        )
    return packages


def parse_rpm_qa(text: str) -> list[dict]:
    """`%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}`; gpg-pubkey entries skipped."""
    packages = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ParseError(f"line {number}: expected 4 tab-separated fields, got {len(fields)}")
        name, evr, arch, source_rpm = fields
        if name == "gpg-pubkey":
            continue
        if ":" not in evr or "-" not in evr:
            raise ParseError(f"line {number}: version {evr!r} is not EPOCH:VERSION-RELEASE")
        packages.append(
            {"name": name, "version": evr, "arch": arch, "source_rpm": "" if source_rpm == "(none)" else source_rpm}
        )
    return packages
