"""Forms of the report pages: asking for a new report, report schedules, and the MSP's branding."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.defaultfilters import filesizeformat

from reports.models import Branding, ReportKind, ReportSchedule, ScheduleCadence
from reports.snapshots.monthly import month_of

__all__ = ["BrandingForm", "ReportRequestForm", "ReportScheduleForm", "check_logo"]

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ReportRequestForm(forms.Form):
    """A report kind, and the month (monthly, executive) or the deployment it covers."""

    kind = forms.ChoiceField(choices=ReportKind.choices)
    month = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text="Monthly and executive summaries: the calendar month, in the client's time zone.",
    )
    deployment = forms.ModelChoiceField(queryset=None, required=False, help_text="Deployment summaries only.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        from deployments.models import Deployment

        self.fields["deployment"].queryset = Deployment.objects.in_tenant(tenant).order_by("-pk")

    def clean_month(self) -> tuple[dt.date, dt.date] | None:
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        match = MONTH.match(value)
        if not match or not 1 <= int(match[2]) <= 12:
            raise forms.ValidationError("Enter a month as YYYY-MM.")
        return month_of(dt.date(int(match[1]), int(match[2]), 1))

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == ReportKind.DEPLOYMENT:
            if not data.get("deployment"):
                self.add_error("deployment", "A deployment summary needs a deployment.")
        elif kind and data.get("deployment"):
            self.add_error("deployment", "Only deployment summaries cover a deployment.")
        return data

    def period(self) -> dict:
        """Keyword arguments for reports.services.create_report."""
        data = self.cleaned_data
        if data["kind"] == ReportKind.DEPLOYMENT:
            return {"deployment_id": data["deployment"].pk}
        if data.get("month"):
            start, end = data["month"]
            return {"start": start, "end": end}
        return {}  # the last complete month


class AddressListField(forms.CharField):
    """E-mail addresses separated by commas, semicolons or new lines: a list, each checked."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "autocomplete": "off"})

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        addresses, seen = [], set()
        for part in text.replace(";", ",").replace("\n", ",").split(","):
            address = part.strip()
            if address and address.lower() not in seen:
                seen.add(address.lower())
                addresses.append(address)
        return addresses

    def validate(self, value):
        super().validate(value)
        bad = []
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not an e-mail address: {', '.join(bad)}.")


class ReportScheduleForm(forms.ModelForm):
    """What is sent, when (in the client's time zone), and to whom."""

    extra_recipients = AddressListField(
        required=False,
        label="Other recipients",
        help_text="E-mail addresses, separated by commas or new lines.",
    )

    class Meta:
        model = ReportSchedule
        fields = [
            "kind",
            "cadence",
            "weekday",
            "day_of_month",
            "time_of_day",
            "include_client_owners",
            "extra_recipients",
            "enabled",
        ]
        labels = {
            "kind": "Report",
            "cadence": "Sent",
            "weekday": "Day of the week",
            "day_of_month": "Day of the month",
            "time_of_day": "Time",
            "include_client_owners": "Send to the client owners",
        }
        help_texts = {
            "kind": "A deployment summary goes out after each deployment; the other reports weekly or monthly.",
            "weekday": "Weekly only.",
        }
        widgets = {"time_of_day": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.instance.tenant = tenant
        self.fields["time_of_day"].help_text = f"In {tenant.time_zone}."
        self.fields["day_of_month"].help_text = "Monthly only. 29 to 31 mean the month's last day in shorter months."

    def clean(self):
        data = super().clean()
        kind, cadence = data.get("kind"), data.get("cadence")
        if kind and cadence and (kind == ReportKind.DEPLOYMENT) != (cadence == ScheduleCadence.AFTER_DEPLOYMENT):
            self.add_error(
                "cadence", "A deployment summary is sent after each deployment; the other reports weekly or monthly."
            )
        if cadence == ScheduleCadence.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", "Choose the day of the week.")
        if cadence == ScheduleCadence.MONTHLY and not data.get("day_of_month"):
            self.add_error("day_of_month", "Choose the day of the month.")
        # Only the fields of the chosen cadence are kept.
        if cadence != ScheduleCadence.WEEKLY:
            data["weekday"] = None
        if cadence != ScheduleCadence.MONTHLY:
            data["day_of_month"] = None
        if not data.get("include_client_owners") and not data.get("extra_recipients") and "extra_recipients" in data:
            self.add_error("extra_recipients", "Send to the client owners, or name at least one address.")
        return data


# The logo appears in PDFs and, through MEDIA_URL, in browsers: only plain images, no active SVG.
# The logo files accepted, by extension: their media type (also how the portal serves them back).
LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff"}
SVG_FORBIDDEN = re.compile(
    rb"<\s*(script|foreignObject|iframe|embed|object)\b|<!DOCTYPE|<!ENTITY|\son[a-z]+\s*=|javascript:|"
    rb"(xlink:)?href\s*=\s*[\"']\s*(?!#)",
    re.I,
)


def check_logo(upload) -> None:
    """Refuse anything but a PNG, JPEG or SVG within the size limit; SVG without scripts or links."""
    limit = settings.BRANDING_LOGO_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(f"The logo may be at most {filesizeformat(limit)}.")
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    upload.seek(0)
    head = upload.read()
    upload.seek(0)
    if extension in SIGNATURES:
        if not head.startswith(SIGNATURES[extension]):
            raise forms.ValidationError(f"This file is not a {extension.upper()} image.")
        return
    if extension == "svg":
        text = head.lstrip(b"\xef\xbb\xbf").lstrip()
        if not (text.startswith(b"<?xml") or text.startswith(b"<svg")) or b"<svg" not in text:
            raise forms.ValidationError("This file is not an SVG image.")
        if SVG_FORBIDDEN.search(text):
            raise forms.ValidationError("The SVG may not contain scripts, event handlers, links or a DOCTYPE.")
        return
    raise forms.ValidationError("Upload a PNG, JPEG or SVG image.")


class BrandingForm(forms.ModelForm):
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = Branding
        fields = ["name", "logo", "primary_colour", "accent_colour", "contact_line"]
        widgets = {
            "logo": forms.FileInput(attrs={"accept": ",".join(dict.fromkeys(LOGO_TYPES.values()))}),
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
        }

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):  # a new upload, not the stored file
            check_logo(logo)
        return logo

    def save(self, commit=True):
        branding = super().save(commit=False)
        if self.cleaned_data.get("remove_logo") and not self.files.get("logo"):
            branding.logo = ""
        if commit:
            branding.save()
        return branding
