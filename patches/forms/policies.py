"""The policy editor: every setting either inherited or set here, auto-approve rules as rows.

The form only turns inputs into a settings dict; `patches.policy.validate_settings` decides
what is valid, and its errors (keyed by setting) are shown next to that setting.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from patches.models import Classification, PatchKind
from patches.policy import FIELDS, SEVERITIES, validate_settings

__all__ = ["INHERIT", "SET", "PolicyForm", "RuleForm"]

INHERIT, SET = "inherit", "set"
PRIORITY_LIMIT = 10_000
MAX_RULES = 200


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _posted_rows(data) -> int:
    try:
        return max(0, min(int(data.get("rule_rows") or 0), MAX_RULES))
    except ValueError:
        return 0


class RuleForm(forms.Form):
    """One auto-approve rule; a row with no condition is ignored (the spare blank row)."""

    kinds = forms.MultipleChoiceField(
        choices=PatchKind.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Kinds"
    )
    classifications = forms.MultipleChoiceField(
        choices=Classification.choices, required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    min_severity = forms.ChoiceField(
        choices=[("", "Any"), *((s, s.title()) for s in SEVERITIES)], required=False, label="Minimum severity"
    )
    kev_only = forms.BooleanField(required=False, label="KEV only")
    products = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One name or pattern per line (* ok)."
    )
    name_pattern = forms.CharField(required=False, max_length=255, label="Name pattern")
    remove = forms.BooleanField(required=False, label="Remove this rule")

    @staticmethod
    def initial_for(rule: dict) -> dict:
        return {**rule, "products": "\n".join(rule.get("products", []))}

    def rule(self) -> dict:
        """The conditions this row sets ({} for a blank or removed row)."""
        data = getattr(self, "cleaned_data", {})
        if data.get("remove"):
            return {}
        rule = {}
        for key in ("kinds", "classifications"):
            if data.get(key):
                rule[key] = data[key]
        if data.get("min_severity"):
            rule["min_severity"] = data["min_severity"]
        if data.get("kev_only"):
            rule["kev_only"] = True
        if _lines(data.get("products")):
            rule["products"] = _lines(data["products"])
        if (data.get("name_pattern") or "").strip():
            rule["name_pattern"] = data["name_pattern"].strip()
        return rule


class PolicyForm(forms.Form):
    """`current`: the settings the policy sets now. Per key, `mode_<key>` chooses inherit or set,
    and `<key>` holds the value. `cleaned_settings` is the validated dict to store."""

    rule_rows = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=MAX_RULES, required=False)

    def __init__(
        self,
        data=None,
        *,
        current: dict,
        scripts: dict[int, str],
        with_priority=False,
        priority=0,
        add_rule=False,
        disabled=False,
    ):
        if data is not None and add_rule:
            # The hidden row count is rendered from the data: count the new row there too, or
            # the next save would read one row less than the page shows.
            data = data.copy()
            data["rule_rows"] = str(max(_posted_rows(data), 1) + 1)
        super().__init__(data)
        self.current = current
        for key, spec in FIELDS.items():
            self.fields[f"mode_{key}"] = forms.ChoiceField(
                choices=[(INHERIT, "Inherit"), (SET, "Set here")],
                widget=forms.RadioSelect,
                initial=SET if key in current else INHERIT,
                label=spec.label,
            )
            self.fields[key] = self._value_field(spec, current.get(key, spec.default), scripts)
        if with_priority:
            self.fields["priority"] = forms.IntegerField(
                initial=priority,
                min_value=-PRIORITY_LIMIT,
                max_value=PRIORITY_LIMIT,
                help_text="When a device is in several groups with policies, the highest priority applies.",
            )
        if disabled:
            for field in self.fields.values():
                field.disabled = True
        self.rule_forms = self._rule_forms(data)
        self.fields["rule_rows"].initial = len(self.rule_forms)

    @staticmethod
    def _value_field(spec, value, scripts) -> forms.Field:
        if spec.kind == "int":
            # Parsed in clean(): an inherited setting's box may hold anything without failing the form.
            attrs = {"min": spec.minimum, "max": 3650, "inputmode": "numeric"}
            return forms.CharField(required=False, initial=value, widget=forms.NumberInput(attrs=attrs))
        if spec.kind == "bool":
            return forms.ChoiceField(
                choices=[("true", "Yes"), ("false", "No")], required=False, initial="true" if value else "false"
            )
        if spec.kind == "choice":
            return forms.ChoiceField(choices=list(spec.choices.items()), required=False, initial=value)
        if spec.kind in ("patterns", "names"):
            return forms.CharField(
                required=False,
                initial="\n".join(value),
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="One per line.",
            )
        if spec.kind == "script":
            return forms.TypedChoiceField(
                choices=[("", "None"), *sorted(((str(pk), name) for pk, name in scripts.items()), key=lambda c: c[1])],
                coerce=int,
                empty_value=None,
                required=False,
                initial="" if value is None else str(value),
            )
        # Rules are edited in rule_forms; this field only carries their errors.
        return forms.Field(required=False, widget=forms.HiddenInput)

    def _rule_forms(self, data) -> list[RuleForm]:
        if data is None:
            rules = self.current.get("auto_approve", [])
            forms_ = [RuleForm(initial=RuleForm.initial_for(rule), prefix=f"rule-{i}") for i, rule in enumerate(rules)]
            return [*forms_, RuleForm(prefix=f"rule-{len(rules)}")]
        return [RuleForm(data, prefix=f"rule-{i}") for i in range(max(_posted_rows(data), 1))]

    def setting_rows(self) -> list[dict]:
        """What the template lays out per setting."""
        return [
            {"key": key, "spec": spec, "mode": self[f"mode_{key}"], "value": self[key], "errors": self[key].errors}
            for key, spec in FIELDS.items()
        ]

    @property
    def has_errors(self) -> bool:
        """Errors on a setting or on any rule row (the page says nothing was saved)."""
        return bool(self.errors) or any(form.errors for form in self.rule_forms)

    def is_valid(self):
        # Every row is validated (no short-circuit): clean() reads each row's conditions.
        rules_ok = all([form.is_valid() for form in self.rule_forms])
        return super().is_valid() and rules_ok

    def clean(self):
        cleaned = super().clean()
        settings = {}
        for key, spec in FIELDS.items():
            if cleaned.get(f"mode_{key}") != SET or key in self.errors:
                continue
            try:
                settings[key] = self._value(key, spec, cleaned.get(key))
            except ValidationError as exc:
                self.add_error(key, exc)
        if self.errors:
            return cleaned
        try:
            self.cleaned_settings = validate_settings(settings)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            for where, messages in errors.items():
                key = where.split("[", 1)[0]
                prefix = f"Rule {int(where.split('[')[1].rstrip(']')) + 1}: " if "[" in where else ""
                self.add_error(key if key in self.fields else None, [prefix + m for m in messages])
        return cleaned

    def _value(self, key, spec, raw):
        if spec.kind == "int":
            try:
                return int(str(raw).strip())
            except ValueError:
                raise ValidationError("Enter a whole number, or choose Inherit.") from None
        if spec.kind == "bool":
            return raw == "true"
        if spec.kind in ("patterns", "names"):
            return _lines(raw)
        if spec.kind == "rules":
            return [rule for form in self.rule_forms if (rule := form.rule())]
        return raw  # choice, script: already checked against their choices
