"""Maintenance windows (with the recurrence fields of their kind) and blackout periods."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from deployments.models import BlackoutPeriod, MaintenanceWindow, Ring, WindowRecurrence

__all__ = ["KIND_FIELDS", "WEEKDAYS", "BlackoutForm", "MaintenanceWindowForm", "describe", "recurrence_errors"]

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NTH = [(1, "First"), (2, "Second"), (3, "Third"), (4, "Fourth"), (5, "Fifth"), (-1, "Last")]

# The fields each kind of recurrence uses; the others are cleared when it is saved.
KIND_FIELDS = {
    WindowRecurrence.WEEKLY: ("weekdays",),
    WindowRecurrence.MONTHLY_DAY: ("day_of_month",),
    WindowRecurrence.MONTHLY_NTH: ("nth", "nth_weekday"),
    WindowRecurrence.PATCH_TUESDAY: ("offset_days",),
}
_CLEARED = {"weekdays": [], "day_of_month": None, "nth": None, "nth_weekday": None, "offset_days": 0}


def recurrence_errors(kind: str, values: dict) -> dict[str, list[str]]:
    """What a window of this recurrence misses (the form and the API say the same)."""
    errors: dict[str, list[str]] = {}
    if kind == WindowRecurrence.WEEKLY and not values.get("weekdays"):
        errors["weekdays"] = ["Choose at least one day of the week."]
    elif kind == WindowRecurrence.MONTHLY_DAY and values.get("day_of_month") is None:
        errors["day_of_month"] = ["Choose the day of the month."]
    elif kind == WindowRecurrence.MONTHLY_NTH:
        if values.get("nth") is None:
            errors["nth"] = ["Choose which week of the month."]
        if values.get("nth_weekday") is None:
            errors["nth_weekday"] = ["Choose the weekday."]
    return errors


class MaintenanceWindowForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="On"
    )
    nth = forms.TypedChoiceField(
        choices=[("", "---------"), *NTH], coerce=int, empty_value=None, required=False, label="Which"
    )
    nth_weekday = forms.TypedChoiceField(
        choices=[("", "---------"), *WEEKDAYS], coerce=int, empty_value=None, required=False, label="Weekday"
    )
    offset_days = forms.IntegerField(
        initial=0,
        required=False,
        validators=[MinValueValidator(-7), MaxValueValidator(27)],
        label="Days after Patch Tuesday",
        help_text="0 is Patch Tuesday itself (the second Tuesday of the month).",
    )
    rings = forms.ModelMultipleChoiceField(
        queryset=Ring.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for every ring.",
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "name",
            "purpose",
            "recurrence",
            "weekdays",
            "day_of_month",
            "nth",
            "nth_weekday",
            "offset_days",
            "start_time",
            "duration_minutes",
            "rings",
            "active",
        ]
        labels = {"day_of_month": "Day of the month", "duration_minutes": "Duration (minutes)"}
        help_texts = {
            "day_of_month": "31 means the last day in shorter months.",
            "start_time": "Local time in the client's time zone.",
        }
        widgets = {"start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["rings"].queryset = Ring.objects.in_tenant(tenant).order_by("position")
        self.fields["start_time"].help_text = f"Local time in {tenant.time_zone}."

    @property
    def kind(self) -> str:
        """The recurrence the form shows: as posted (or asked for), else the window's."""
        value = self.data.get("recurrence") if self.is_bound else self.initial.get("recurrence")
        if value in WindowRecurrence.values:
            return value
        return self.instance.recurrence or WindowRecurrence.WEEKLY

    def recurrence_fields(self):
        return [self[name] for name in KIND_FIELDS[self.kind]]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("recurrence")
        for name, messages in recurrence_errors(kind, cleaned).items():
            self.add_error(name, messages)
        if kind == WindowRecurrence.PATCH_TUESDAY and cleaned.get("offset_days") is None:
            cleaned["offset_days"] = 0
        if kind in KIND_FIELDS:
            for name, empty in _CLEARED.items():
                if name not in KIND_FIELDS[kind]:
                    cleaned[name] = empty
        name = cleaned.get("name")
        if (
            name
            and MaintenanceWindow.objects.in_tenant(self.tenant).exclude(pk=self.instance.pk).filter(name=name).exists()
        ):
            self.add_error("name", "This client already has a window of that name.")
        return cleaned

    def _post_clean(self):
        self.instance.tenant = self.tenant
        super()._post_clean()

    def save(self, commit=True):
        self.instance.tenant = self.tenant
        self.instance.weekdays = sorted(self.cleaned_data.get("weekdays") or [])
        return super().save(commit)


class BlackoutForm(forms.ModelForm):
    class Meta:
        model = BlackoutPeriod
        fields = ["starts_on", "ends_on", "reason"]
        labels = {"starts_on": "From", "ends_on": "To (inclusive)"}
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("starts_on") and cleaned.get("ends_on") and cleaned["ends_on"] < cleaned["starts_on"]:
            self.add_error("ends_on", "The last day cannot be before the first.")
        return cleaned

    def _post_clean(self):
        self.instance.tenant = self.tenant
        super()._post_clean()


def describe(window: MaintenanceWindow) -> str:
    """'Sat, Sun at 22:00 for 6 h' and the like, for the window list."""
    kind = window.recurrence
    if kind == WindowRecurrence.WEEKLY:
        when = ", ".join(dict(WEEKDAYS)[d] for d in sorted(window.weekdays)) or "no day"
    elif kind == WindowRecurrence.MONTHLY_DAY:
        when = f"day {window.day_of_month} of each month"
    elif kind == WindowRecurrence.MONTHLY_NTH:
        nth = dict(NTH).get(window.nth, "?").lower()
        day = WEEKDAY_NAMES[window.nth_weekday] if window.nth_weekday is not None else "?"
        when = f"the {nth} {day} of each month"
    else:
        offset = window.offset_days
        when = "Patch Tuesday" if offset == 0 else f"Patch Tuesday {'+' if offset > 0 else '-'} {abs(offset)} days"
    hours, minutes = divmod(window.duration_minutes, 60)
    length = f"{hours} h" + (f" {minutes} min" if minutes else "") if hours else f"{minutes} min"
    return f"{when} at {window.start_time:%H:%M} for {length}"
