"""JSON over HTTPS to the portal with urllib, and the protocol's error classes."""

from __future__ import annotations

import functools
import json
import platform
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from . import __version__

API_PREFIX = "/api/agent/v1/"
# Enough to show the server's error object; a proxy's HTML error page is cut short.
MAX_ERROR_BODY = 64 * 1024


class PortalError(Exception):
    """A call to the portal failed."""

    status: int | None = None


class TransientError(PortalError):
    """Network trouble, 429 or 5xx: try again later with back-off."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthError(PortalError):
    """401: the token is unknown, revoked or rotated; the device must be enrolled again."""

    status = 401


class ForbiddenError(PortalError):
    """403: the device's tenant is deactivated."""

    status = 403


class RequestRejected(PortalError):
    """400: the server named the fields it did not accept."""

    status = 400

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.errors = dict(errors or {})


class PayloadTooLarge(PortalError):
    """413: the body or the number of entries is over the server's limit."""

    status = 413


def user_agent() -> str:
    return f"patchportal-agent/{__version__} (Python {platform.python_version()}; {platform.system() or 'unknown'})"


def format_errors(errors: Mapping[str, Any]) -> str:
    """``{"packages[3].version": ["This field is required."]}`` as one readable line."""
    parts = []
    for field_name in sorted(errors):
        messages = errors[field_name]
        text = " ".join(map(str, messages)) if isinstance(messages, (list, tuple)) else str(messages)
        parts.append(f"{field_name}: {text}")
    return "; ".join(parts)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a GET and could carry the token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise TransientError(
            f"the portal answered {code} redirecting to {newurl}; set `server` to the final URL", status=code
        )


@functools.lru_cache(maxsize=8)
def tls_context(verify_tls: bool, ca_file: str = "") -> ssl.SSLContext:
    """One context per settings: loading the CA store costs tens of milliseconds of CPU."""
    if not verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file or None)


class PortalClient:
    def __init__(
        self,
        server: str,
        token: str | None = None,
        timeout: float = 30.0,
        verify_tls: bool = True,
        ca_file: str = "",
    ):
        if urlsplit(server).scheme not in ("https", "http"):
            raise ValueError(f"the portal URL must be http(s), not {server!r}")
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=tls_context(verify_tls, ca_file)),
            _RefuseRedirects(),
        )

    def url(self, endpoint: str) -> str:
        return self.server + API_PREFIX + endpoint

    def post(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        # S310: the URL is always the configured http(s) portal, checked in __init__.
        request = urllib.request.Request(self.url(endpoint), data=data, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", user_agent())
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        where = f"POST {API_PREFIX}{endpoint}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raise self._error_from_response(where, exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise TransientError(
                    f"{where}: TLS certificate verification failed ({reason.verify_message}); "
                    "check the server name, or set ca_file to the CA that signed the portal's certificate"
                ) from None
            raise TransientError(f"{where}: cannot reach {self.server}: {reason}") from None
        # socket.timeout became an alias of TimeoutError only in Python 3.10.
        except (socket.timeout, TimeoutError):
            raise TransientError(f"{where}: no answer within {self.timeout:g} s") from None
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise TransientError(f"{where}: connection failed: {exc}") from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TransientError(f"{where}: answered {status} with a body that is not JSON", status=status) from None
        if not isinstance(answer, dict):
            raise TransientError(f"{where}: answered {status} with JSON that is not an object", status=status)
        return answer

    @staticmethod
    def _error_from_response(where: str, exc: urllib.error.HTTPError) -> PortalError:
        status = exc.code
        try:
            raw = exc.read(MAX_ERROR_BODY)
        except OSError:
            raw = b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("detail")
        detail_text = f": {detail}" if detail else ""
        if status == 400:
            errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
            shown = format_errors(errors) if errors else (detail or raw[:500].decode("utf-8", "replace"))
            return RequestRejected(f"{where}: rejected (400): {shown}", errors)
        if status == 401:
            return AuthError(f"{where}: not authorised (401){detail_text}")
        if status == 403:
            return ForbiddenError(f"{where}: forbidden (403){detail_text}")
        if status == 413:
            return PayloadTooLarge(f"{where}: too large (413){detail_text}")
        if status == 429 or status >= 500:
            return TransientError(
                f"{where}: server busy or failing ({status}){detail_text}",
                status=status,
                retry_after=parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None),
            )
        error = PortalError(f"{where}: unexpected answer {status}{detail_text}")
        error.status = status
        return error
