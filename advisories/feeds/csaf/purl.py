"""Package URLs (https://github.com/package-url/purl-spec), parsed the way the specification says.

``pkg:type/namespace/name@version?qualifiers#subpath``: the string is split from the right
(subpath at ``#``, qualifiers at ``?``, version at the last ``@``) and from the left (scheme,
type); every segment is percent-decoded on its own, so an encoded ``/`` or ``@`` inside a name
stays part of the name. Qualifier keys are lowercased and qualifiers without a value dropped.
Type-specific normalisation follows the spec for the types we map (deb, pypi, composer).
A string that is not a purl raises PurlError; callers treat it as "no package identity".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

__all__ = ["PackageUrl", "PurlError", "parse_purl"]

_TYPE = re.compile(r"[A-Za-z.+-][A-Za-z0-9.+-]*")
_QUALIFIER_KEY = re.compile(r"[A-Za-z.\-_][A-Za-z0-9.\-_]*")


class PurlError(ValueError):
    pass


@dataclass(frozen=True)
class PackageUrl:
    type: str
    namespace: str
    name: str
    version: str = ""
    qualifiers: dict[str, str] = field(default_factory=dict, hash=False)
    subpath: str = ""

    def without_version(self) -> str:
        """The versionless form OSV keeps in `affected[].package.purl`."""
        namespace = "/".join(quote(part, safe="") for part in self.namespace.split("/")) if self.namespace else ""
        path = f"{namespace}/{quote(self.name, safe='')}" if namespace else quote(self.name, safe="")
        return f"pkg:{self.type}/{path}"


def _segments(path: str) -> list[str]:
    return [unquote(part) for part in path.split("/") if part]


def _normalise(type_: str, namespace: str, name: str) -> tuple[str, str]:
    # The spec makes these case-insensitive and canonical in lower case; PyPI also folds "_" to "-".
    if type_ in ("deb", "composer", "apk", "bitbucket", "github"):
        return namespace.lower(), name.lower()
    if type_ == "pypi":
        return namespace, name.lower().replace("_", "-")
    if type_ == "rpm":
        return namespace.lower(), name
    return namespace, name


def parse_purl(text: str) -> PackageUrl:
    if not isinstance(text, str) or not text.strip():
        raise PurlError("a package URL must be a non-empty string")
    rest = text.strip()
    rest, _, subpath = rest.rpartition("#") if "#" in rest else (rest, "", "")
    subpath = "/".join(s for s in _segments(subpath) if s not in (".", ".."))
    rest, _, query = rest.rpartition("?") if "?" in rest else (rest, "", "")
    qualifiers = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if not _QUALIFIER_KEY.fullmatch(key):
            raise PurlError(f"{text!r}: bad qualifier key {key!r}")
        if value:
            qualifiers[key.lower()] = unquote(value)
    scheme, colon, rest = rest.partition(":")
    if not colon or scheme.lower() != "pkg":
        raise PurlError(f"{text!r}: does not start with 'pkg:'")
    type_, slash, rest = rest.lstrip("/").partition("/")
    if not slash or not _TYPE.fullmatch(type_):
        raise PurlError(f"{text!r}: no valid package type")
    type_ = type_.lower()
    # The version follows the last "@"; one before the last "/" is an unencoded npm scope.
    at = rest.rfind("@")
    rest, version = (rest[:at], unquote(rest[at + 1 :])) if at > rest.rfind("/") else (rest, "")
    parts = _segments(rest)
    if not parts:
        raise PurlError(f"{text!r}: no package name")
    namespace, name = _normalise(type_, "/".join(parts[:-1]), parts[-1])
    return PackageUrl(type_, namespace, name, version, qualifiers, subpath)
