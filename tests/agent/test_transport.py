"""The HTTP client: error translation, TLS settings, and real network failures.

There is no stand-in portal here; behaviour against the real server belongs to the
end-to-end test. What is exercised is what the client does with a refused connection,
a peer that never answers, and the error responses PROTOCOL.md defines.
"""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
import urllib.error
from email.message import Message

import pytest

from agent import __version__
from agent.transport import (
    AuthError,
    ForbiddenError,
    PayloadTooLarge,
    PortalClient,
    PortalError,
    RequestRejected,
    TransientError,
    format_errors,
    parse_retry_after,
    tls_context,
    user_agent,
)


def http_error(status: int, body: bytes, headers: dict | None = None) -> urllib.error.HTTPError:
    message = Message()
    for key, value in (headers or {}).items():
        message[key] = value
    return urllib.error.HTTPError("https://portal.example/api/agent/v1/x", status, "status", message, io.BytesIO(body))


def translate(status: int, body: bytes, headers: dict | None = None) -> PortalError:
    return PortalClient._error_from_response("POST /api/agent/v1/inventory", http_error(status, body, headers))


def test_400_shows_the_servers_errors_object():
    error = translate(400, b'{"errors": {"packages[3].version": ["This field is required."], "hash": ["Mismatch."]}}')
    assert isinstance(error, RequestRejected)
    assert error.errors == {"packages[3].version": ["This field is required."], "hash": ["Mismatch."]}
    assert str(error) == (
        "POST /api/agent/v1/inventory: rejected (400): hash: Mismatch.; packages[3].version: This field is required."
    )


def test_400_without_json_still_says_something():
    error = translate(400, b"<html>Bad Request</html>")
    assert isinstance(error, RequestRejected)
    assert "<html>Bad Request</html>" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AuthError), (403, ForbiddenError), (413, PayloadTooLarge), (429, TransientError), (502, TransientError)],
)
def test_status_codes_map_to_error_kinds(status, kind):
    error = translate(status, b'{"detail": "Because."}')
    assert type(error) is kind
    assert "Because." in str(error)


def test_retry_after_is_read_from_429():
    error = translate(429, b"{}", {"Retry-After": "120"})
    assert isinstance(error, TransientError)
    assert error.retry_after == 120.0


def test_parse_retry_after_http_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_format_errors_accepts_strings_too():
    assert format_errors({"token": "Unknown."}) == "token: Unknown."


def test_user_agent_names_the_agent_version():
    assert user_agent().startswith(f"patchportal-agent/{__version__} (Python ")


def test_tls_is_verified_by_default():
    context = tls_context(True)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    off = tls_context(False)
    assert off.verify_mode == ssl.CERT_NONE


def test_only_http_urls_are_accepted():
    with pytest.raises(ValueError):
        PortalClient("file:///etc/passwd")
    assert (
        PortalClient("https://portal.example.com/").url("checkin") == "https://portal.example.com/api/agent/v1/checkin"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_transient():
    client = PortalClient(f"http://127.0.0.1:{free_port()}", "pdt_x", timeout=5)
    with pytest.raises(TransientError, match="cannot reach"):
        client.post("checkin", {"hostname": "h"})


def test_a_peer_that_never_answers_times_out_as_transient():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []

    def accept_and_stay_silent():
        connection, _ = listener.accept()
        accepted.append(connection)

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    client = PortalClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "pdt_x", timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError):
            client.post("checkin", {"hostname": "h"})
        assert time.monotonic() - started < 10
    finally:
        thread.join(2)
        for connection in accepted:
            connection.close()
        listener.close()
