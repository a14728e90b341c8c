from __future__ import annotations

import os

from django import forms
from django.core.validators import URLValidator

from advisories.models import FeedSource

__all__ = ["FeedSourceForm", "clean_location"]

MIN_INTERVAL_MINUTES = 5


def clean_location(value: str) -> str:
    """An http(s) URL, or for air-gapped sites an absolute path on the workers' disk."""
    value = value.strip()
    if value.startswith(("http://", "https://")):
        URLValidator(schemes=["http", "https"])(value)
        return value
    if os.path.isabs(value):
        return value
    raise forms.ValidationError("Give an http(s) URL or an absolute path to a file, folder or zip.")


class FeedSourceForm(forms.ModelForm):
    class Meta:
        model = FeedSource
        fields = ["kind", "name", "url", "interval_minutes", "enabled"]
        labels = {"url": "URL or path", "interval_minutes": "Interval (minutes)"}

    def clean_url(self):
        return clean_location(self.cleaned_data["url"])

    def clean_interval_minutes(self):
        value = self.cleaned_data["interval_minutes"]
        if value < MIN_INTERVAL_MINUTES:
            raise forms.ValidationError(f"At least {MIN_INTERVAL_MINUTES} minutes.")
        return value

    def changes(self) -> dict:
        """What the form changed, as the audit log records it: {field: [old, new]}."""
        return {name: [self.initial.get(name), self.cleaned_data.get(name)] for name in self.changed_data}
