"""Writing a script: its name and interpreter, and a body that becomes a new version."""

from __future__ import annotations

from django import forms

from patches.models import Script

__all__ = ["MAX_BODY", "ScriptForm"]

MAX_BODY = 256 * 1024


class ScriptForm(forms.ModelForm):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 20, "class": "code", "spellcheck": "false"}),
        strip=False,  # leading indentation and trailing newlines belong to the script
        max_length=MAX_BODY,
    )
    note = forms.CharField(
        max_length=300, required=False, label="What changed", help_text="Kept with the version in its history."
    )
    # The version the editor started from: saving over a newer one is refused.
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Script
        fields = ["name", "description", "interpreter"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        script = self.instance
        if script.pk:
            current = script.current
            self.fields["body"].initial = current.body if current else ""
            self.fields["base_version"].initial = script.current_version

    def clean_body(self):
        # Browsers send textarea lines ending in CRLF; a shell would choke on the CR.
        return self.cleaned_data["body"].replace("\r\n", "\n")
