"""API authentication: personal tokens (Bearer) and 2FA-verified browser sessions."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.middleware import activate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        from tenants.models import ApiToken
        from tenants.models.tokens import TOKEN_PREFIX, hash_token

        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2 or not header[1].startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Malformed token header.")
        token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(header[1])).first()
        now = timezone.now()
        if token is None or not token.is_usable(now) or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        from tenants.auth_backend import EmailBackend

        if not EmailBackend().user_can_authenticate(token.user):
            raise exceptions.AuthenticationFailed("This account cannot sign in.")
        # Coarse last-used stamp: one write per token per minute at most.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        activate(request._request, token.user, "api")
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The browser session, with CSRF enforced; staff sessions must have passed 2FA."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if user.is_msp_staff and not user.is_verified():
            raise exceptions.PermissionDenied("Two-factor authentication required.")
        return result
