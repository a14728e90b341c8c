from __future__ import annotations

from django import forms
from django.contrib.postgres.forms import SimpleArrayField

from devices.models import Device, DeviceGroup, EnrollmentToken
from tenants.models import Site


def _tags_field(**kwargs):
    return SimpleArrayField(
        forms.SlugField(max_length=60),
        required=False,
        delimiter=",",
        help_text="Comma-separated, e.g. server, finance.",
        **kwargs,
    )


class DeviceForm(forms.ModelForm):
    tags = _tags_field()

    class Meta:
        model = Device
        fields = ["site", "criticality", "tags", "checkin_interval", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.in_tenant(self.instance.tenant)

    def clean_checkin_interval(self):
        value = self.cleaned_data["checkin_interval"]
        if not 30 <= value <= 86400:
            raise forms.ValidationError("Between 30 seconds and one day.")
        return value


class DeviceGroupForm(forms.ModelForm):
    rule_tags_all = _tags_field(label="Has all these tags")
    rule_tags_any = _tags_field(label="Has any of these tags")

    class Meta:
        model = DeviceGroup
        fields = [
            "name",
            "description",
            "kind",
            "rule_tags_all",
            "rule_tags_any",
            "rule_os_family",
            "rule_ecosystem_prefix",
            "rule_site",
            "rule_criticality",
        ]
        labels = {
            "rule_os_family": "OS family",
            "rule_ecosystem_prefix": "OS release starts with",
            "rule_site": "Site",
            "rule_criticality": "Criticality",
        }

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["rule_site"].queryset = Site.objects.in_tenant(tenant)
        from devices.models import Criticality, OsFamily

        self.fields["rule_os_family"] = forms.ChoiceField(
            choices=[("", "Any"), *OsFamily.choices], required=False, label="OS family"
        )
        self.fields["rule_criticality"] = forms.ChoiceField(
            choices=[("", "Any"), *Criticality.choices], required=False, label="Criticality"
        )

    def clean_name(self):
        name = self.cleaned_data["name"]
        clash = DeviceGroup.objects.in_tenant(self.tenant).filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("This tenant already has a group with this name.")
        return name


class GroupMembersForm(forms.Form):
    devices = forms.ModelMultipleChoiceField(
        queryset=Device.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, group, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["devices"].queryset = Device.objects.in_tenant(group.tenant).active().order_by("hostname")


class EnrollmentTokenForm(forms.ModelForm):
    tags = _tags_field()
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=365, required=False, initial=7, help_text="Empty: no expiry."
    )

    class Meta:
        model = EnrollmentToken
        fields = ["name", "max_uses", "site", "groups", "tags"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.in_tenant(tenant)
        self.fields["groups"].queryset = DeviceGroup.objects.in_tenant(tenant).filter(kind=DeviceGroup.Kind.EXPLICIT)
        self.fields["groups"].help_text = "Enrolled devices join these groups."
