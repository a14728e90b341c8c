"""Cross-cutting request middleware owned by the project core."""

from __future__ import annotations

import re
import uuid

from csp.middleware import CSPMiddleware
from django.conf import settings

from portal.logging import request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give each request an id (or keep a sane one from the proxy) for logs and audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, skipping excluded prefixes before it builds the policy.

    The agent API answers JSON to machines at thousands of requests a second; django-csp
    would build (and then discard) the policy string for each of them.
    """

    def process_request(self, request):
        if not request.path_info.startswith(self._excluded()):
            super().process_request(request)

    def process_response(self, request, response):
        if request.path_info.startswith(self._excluded()):
            return response
        return super().process_response(request, response)

    @staticmethod
    def _excluded() -> tuple[str, ...]:
        return tuple(settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES", ()))
