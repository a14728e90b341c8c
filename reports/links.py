"""Signed download links for report PDFs.

A link carries the report's id and the first 16 hex digits of its PDF's SHA-256, signed with
the installation's SECRET_KEY (salted for this purpose) and stamped with the time it was
issued. It is good for settings.REPORT_LINK_MAX_AGE seconds (default 7 days).

Who may follow a link: the link alone suffices for someone who is not signed in, so a client
can open a report from an e-mail (or forward it) without an account; it is a bearer token
that expires. Someone signed in must also be allowed to read the report's tenant
(`report.view`), or gets 404, like any other page of that tenant.
Re-rendering a report into different bytes invalidates its old links (the digest differs).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

__all__ = ["Claim", "LinkExpired", "LinkInvalid", "make_token", "max_age_days", "read_token"]

SALT = "reports.download"
DIGEST_CHARS = 16


class LinkInvalid(ValueError):
    """Not a link we issued (tampered, truncated, or signed with another key)."""


class LinkExpired(LinkInvalid):
    """A genuine link, older than REPORT_LINK_MAX_AGE."""


@dataclass(frozen=True)
class Claim:
    report_id: int
    digest: str


class _Signer(signing.TimestampSigner):
    """A TimestampSigner whose clock can be set (`at`, seconds since the epoch) for tests."""

    def __init__(self, at: float | None = None):
        super().__init__(salt=SALT)
        self._at = at

    def timestamp(self):
        return signing.b62_encode(int(self._at)) if self._at is not None else super().timestamp()


def make_token(report, *, at: float | None = None) -> str:
    """A fresh token for `report` (which must have its PDF), issued now or at `at`."""
    if not report.sha256:
        raise ValueError("a report without a PDF has no download link")
    return _Signer(at).sign_object({"r": report.pk, "h": report.sha256[:DIGEST_CHARS]})


def read_token(token: str) -> Claim:
    try:
        value = _Signer().unsign_object(token, max_age=settings.REPORT_LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise LinkExpired(str(error)) from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as error:
        raise LinkInvalid(str(error)) from None
    if not isinstance(value, dict) or not isinstance(value.get("r"), int) or not isinstance(value.get("h"), str):
        raise LinkInvalid("malformed claim")
    return Claim(value["r"], value["h"])


def max_age_days() -> int:
    return max(1, round(settings.REPORT_LINK_MAX_AGE / 86400))
