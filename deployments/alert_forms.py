"""The alert channel form (MSP admins)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from deployments.alert_channels import email_addresses, validate_webhook_url
from deployments.models import AlertChannel, AlertKind
from tenants.models import Tenant

__all__ = ["AlertChannelForm"]


class AlertChannelForm(forms.ModelForm):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.filter(archived_at__isnull=True).order_by("name"),
        required=False,
        empty_label="All clients (MSP-wide)",
        label="Client",
        help_text="An MSP-wide channel receives every client's alerts and the MSP-wide ones (feeds).",
    )
    kinds = forms.MultipleChoiceField(
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Alert kinds",
        help_text="None ticked: every kind.",
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "tenant", "kind", "target", "kinds", "enabled"]
        labels = {"kind": "Delivered by", "target": "Addresses or URL"}
        widgets = {"target": forms.TextInput(attrs={"size": 60, "autocomplete": "off"})}

    def clean(self):
        cleaned = super().clean()
        kind, target = cleaned.get("kind"), (cleaned.get("target") or "").strip()
        if kind and target:
            try:
                if kind == AlertChannel.Kind.EMAIL:
                    cleaned["target"] = ", ".join(email_addresses(target))
                else:
                    cleaned["target"] = validate_webhook_url(target)
            except ValidationError as error:
                self.add_error("target", error)
        return cleaned
