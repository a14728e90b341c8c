"""Background work for accounts: e-mail leaves the request and goes through the worker."""

from __future__ import annotations

from celery import shared_task

from tenants import emails
from tenants.models import Tenant, User


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=600, max_retries=8)
def send_invitation(user_id: int, tenant_id: int | None = None) -> None:
    user = User.objects.get(pk=user_id)
    tenant = Tenant.objects.get(pk=tenant_id) if tenant_id else None
    emails.send_invitation(user, tenant)
