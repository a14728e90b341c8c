from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.postgres.forms import SimpleArrayField
from django.utils.text import slugify

from tenants.models import Membership, Site, Tenant, User
from tenants.roles import MspRole, TenantRole


class EmailLoginForm(AuthenticationForm):
    # Named "username" so that Django's auth and the login throttle find it.
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "E-mail or password is not right, or the account cannot sign in.",
    }


class TenantForm(forms.ModelForm):
    contact_emails = SimpleArrayField(
        forms.EmailField(),
        required=False,
        delimiter=",",
        help_text="Comma-separated addresses for reports and notices.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "slug", "time_zone", "contact_emails", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Used in URLs. Derived from the name if left empty."

    def clean_slug(self):
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("name", ""))
        if not slug:
            raise forms.ValidationError("Give a name or a slug.")
        clash = Tenant.objects.filter(slug=slug).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another tenant uses this slug.")
        return slug


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["name", "address", "time_zone", "notes"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Site.objects.in_tenant(self.tenant).filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This tenant already has a site with this name.")
        return name


class MembershipForm(forms.Form):
    """Add a person to a tenant: an existing user by e-mail, or a new client user who is invited."""

    email = forms.EmailField(label="E-mail")
    full_name = forms.CharField(max_length=200, required=False, help_text="For a new user.")
    role = forms.ChoiceField(choices=TenantRole.choices)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean(self):
        cleaned = super().clean()
        email, role = cleaned.get("email", "").lower(), cleaned.get("role")
        user = User.objects.filter(email__iexact=email).first()
        if user and user.is_msp_admin:
            raise forms.ValidationError("MSP admins already reach every tenant.")
        if role == TenantRole.TECHNICIAN and (user is None or user.msp_role != MspRole.TECHNICIAN):
            raise forms.ValidationError("Only an existing technician can be assigned as technician.")
        if user and user.msp_role == MspRole.TECHNICIAN and role != TenantRole.TECHNICIAN:
            raise forms.ValidationError("A technician can only be assigned as technician.")
        if user and Membership.objects.in_tenant(self.tenant).filter(user=user).exists():
            raise forms.ValidationError("This person is already a member of this tenant.")
        cleaned["user"] = user
        return cleaned


class MembershipRoleForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        is_technician = self.instance.user.msp_role == MspRole.TECHNICIAN
        if is_technician != (role == TenantRole.TECHNICIAN):
            raise forms.ValidationError("Technicians hold the technician role; client users a client role.")
        return role


class StaffUserForm(forms.ModelForm):
    """MSP admins manage staff accounts here; client users are added from a tenant's members page."""

    class Meta:
        model = User
        fields = ["email", "full_name", "msp_role", "all_tenants", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["msp_role"].choices = [c for c in MspRole.choices if c[0]]
        self.fields["msp_role"].required = True

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A user with this e-mail exists.")
        return email


class ClientUserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "is_active"]


class TotpConfirmForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'PSA sync'.")
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, required=False, help_text="Empty: no expiry.")
