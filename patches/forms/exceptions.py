"""Accepting a risk: what it covers (one finding, a device, an advisory), who owns it, why, until when."""

from __future__ import annotations

import datetime as dt

from django import forms

from advisories.models import Advisory
from devices.models import Device
from patches.exception_listing import eligible_owners, local_today
from patches.models import Finding, FindingState, RiskException

__all__ = ["FINDING_CHOICES", "RiskExceptionForm"]

# The finding select lists the riskiest open findings; others are reached from the findings page.
FINDING_CHOICES = 500
DEFAULT_DAYS = 90


def _finding_label(finding: Finding) -> str:
    package = f" {finding.package_name}" if finding.package_name else ""
    return f"{finding.device.hostname}: {finding.reference}{package} (risk {finding.score:.1f})"


class RiskExceptionForm(forms.Form):
    covers = forms.ChoiceField(choices=RiskException.Covers.choices, widget=forms.RadioSelect, label="Covers")
    finding = forms.ModelChoiceField(queryset=Finding.objects.none(), required=False, label="Finding")
    device = forms.ModelChoiceField(
        queryset=Device.objects.none(), required=False, to_field_name="uid", help_text="Every finding of the device."
    )
    advisory = forms.ModelChoiceField(
        queryset=Advisory.objects.none(),
        required=False,
        to_field_name="advisory_id",
        help_text="Every finding of the advisory in this tenant.",
    )
    owner = forms.ModelChoiceField(queryset=None, help_text="Who answers for this risk and reviews it before it ends.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    expires_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="The last day it holds, in the tenant's time zone."
    )

    def __init__(self, *args, tenant, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        today = local_today(tenant)
        open_findings = Finding.objects.in_tenant(tenant).filter(state=FindingState.OPEN).select_related("device")
        finding = self.fields["finding"]
        finding.queryset = open_findings
        finding.label_from_instance = _finding_label
        # Validation accepts any open finding of the tenant; the list shows the riskiest ones
        # (and the one asked for, if it ranks lower).
        shown = list(open_findings.order_by("-score", "id")[:FINDING_CHOICES])
        asked = self.initial.get("finding")
        if asked is not None and asked not in shown:
            shown.append(asked)
        finding.widget.choices = [("", "---------"), *((f.pk, _finding_label(f)) for f in shown)]
        self.fields["device"].queryset = Device.objects.in_tenant(tenant).active().order_by("hostname")
        with_findings = Finding.objects.in_tenant(tenant).filter(
            state__in=[FindingState.OPEN, FindingState.ACCEPTED], advisory__isnull=False
        )
        self.fields["advisory"].queryset = Advisory.objects.filter(pk__in=with_findings.values("advisory_id")).order_by(
            "advisory_id"
        )
        self.fields["owner"].queryset = eligible_owners(tenant)
        self.fields["owner"].initial = user.pk
        self.fields["expires_on"].initial = today + dt.timedelta(days=DEFAULT_DAYS)
        self.fields["expires_on"].widget.attrs["min"] = (today + dt.timedelta(days=1)).isoformat()

    def clean(self):
        cleaned = super().clean()
        covers = cleaned.get("covers")
        if covers and not cleaned.get(covers):
            self.add_error(covers, "Choose what this exception covers.")
        return cleaned

    def target(self) -> dict:
        """The keyword accept_risk takes: {"finding": f}, {"device": d} or {"advisory": a}."""
        covers = self.cleaned_data["covers"]
        return {covers: self.cleaned_data[covers]}
