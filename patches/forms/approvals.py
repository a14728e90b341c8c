"""Forms of the approval queue (its filters and bulk decisions) and of the client's sign-off."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from patches.filters import SEVERITY_CHOICES
from patches.models import Scope
from patches.queue import STATUSES, UNDECIDED

__all__ = [
    "DEFAULT_STATUSES",
    "STATUS_CHOICES",
    "BulkDecisionForm",
    "QueueFilterForm",
    "SignOffForm",
    "apply_domain_errors",
]

STATUS_LABELS = {
    UNDECIDED: "Undecided",
    "pending": "Pending",
    "awaiting_client": "Awaiting client",
    "approved": "Approved",
    "deferred": "Deferred",
    "rejected": "Rejected",
}
STATUS_CHOICES = [(status, STATUS_LABELS[status]) for status in STATUSES]
# What still needs someone: the queue's default view.
DEFAULT_STATUSES = [UNDECIDED, "pending", "awaiting_client"]


class QueueFilterForm(forms.Form):
    """The queue's filters. With no filter given at all, the queue shows what needs a decision;
    once the form is submitted, no status ticked means every status."""

    tenant = forms.ChoiceField(required=False, label="Tenant")
    status = forms.MultipleChoiceField(
        choices=STATUS_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label="Status"
    )
    severity = forms.ChoiceField(choices=[("", "Any"), *SEVERITY_CHOICES], required=False, label="Severity")
    kev = forms.BooleanField(required=False, label="KEV only")
    min_age = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Older than (days)")
    product = forms.CharField(required=False, max_length=200, label="Product or name")

    def __init__(self, data=None, *, tenants=None, **kwargs):
        if data is not None and not any(name in data for name in self.base_fields):
            data = data.copy()
            data.setlist("status", DEFAULT_STATUSES)
        super().__init__(data, **kwargs)
        self.tenants = list(tenants or [])
        self.fields["tenant"].choices = [("", "All"), *((t.slug, t.name) for t in self.tenants)]

    def chosen_tenants(self) -> list:
        slug = self.cleaned_data.get("tenant")
        return [t for t in self.tenants if t.slug == slug] if slug else self.tenants

    def queue_kwargs(self) -> dict:
        """Keyword arguments of patches.queue.approval_queue."""
        data = self.cleaned_data
        return {
            "statuses": tuple(data["status"]),
            "severity": data["severity"],
            "kev": bool(data["kev"]),
            "min_age_days": data["min_age"],
            "product": data["product"],
        }


class _QueueItems(forms.MultipleChoiceField):
    """ "<tenant id>:<patch id>" values; patches.decisions.parse_items checks them against the
    user's access, so there is no fixed list of choices here."""

    def valid_value(self, value) -> bool:
        return True


class BulkDecisionForm(forms.Form):
    """One decision for the ticked queue items. The rules (a rejection needs a comment, a
    deferral a later date) are patches.approvals.decide's; its errors land on these fields."""

    ACTIONS = [("approve", "Approve"), ("reject", "Reject"), ("defer", "Defer"), ("reopen", "Reopen")]

    items = _QueueItems(required=False, label="Selected patches")
    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(
        choices=[(Scope.TENANT, "Each item's tenant"), (Scope.GLOBAL, "All tenants")],
        initial=Scope.TENANT,
        required=False,
        label="For",
        help_text="Each item's tenant unless given.",
    )
    comment = forms.CharField(required=False, max_length=2000, label="Comment", help_text="Required to reject.")
    defer_until = forms.DateField(
        required=False, label="Defer until", widget=forms.DateInput(attrs={"type": "date"}), help_text="To defer."
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the decision stops applying that day.",
    )

    def __init__(self, *args, allow_global=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_global = allow_global

    def clean_scope(self):
        scope = self.cleaned_data["scope"] or Scope.TENANT
        if scope == Scope.GLOBAL and not self.allow_global:
            raise ValidationError("Only MSP admins decide for all tenants at once.")
        return scope

    def selected(self) -> set[str]:
        """The ticked items, to keep them ticked when the form comes back with an error."""
        return set(self.data.getlist("items")) if hasattr(self.data, "getlist") else set()


class SignOffForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    comment = forms.CharField(required=False, max_length=2000, label="Comment", help_text="Required to decline.")


def apply_domain_errors(form: forms.Form, error: ValidationError, fallback: str | None = None) -> None:
    """Put a ValidationError from the domain layer on the form's fields it names (else on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else fallback, messages)
    else:
        form.add_error(fallback, error.messages)
