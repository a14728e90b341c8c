"""Scripts over the API: the script with its current body, and its immutable versions."""

from __future__ import annotations

from rest_framework import serializers

from patches.forms.scripts import MAX_BODY
from patches.models import Script, ScriptVersion

__all__ = ["ScriptDetailSerializer", "ScriptSerializer", "ScriptVersionSerializer"]


class ScriptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Script
        fields = ["id", "name", "description", "interpreter", "current_version", "created_at", "updated_at"]
        read_only_fields = ["current_version", "created_at", "updated_at"]


def _current(script) -> ScriptVersion | None:
    """The current version, loaded once per instance (and again after an edit adds one)."""
    cached = getattr(script, "_current_row", None)
    if cached is None or cached.number != script.current_version:
        cached = script._current_row = script.current
    return cached


class CurrentBodyField(serializers.CharField):
    """Reads the current version's body; what is written becomes the next version."""

    def get_attribute(self, script):
        current = _current(script)
        return current.body if current else ""


class ScriptDetailSerializer(ScriptSerializer):
    """`body` is the current version's; writing a different body adds a version (with `note`).
    `base_version`: the version you edited; refused if another was saved since."""

    body = CurrentBodyField(max_length=MAX_BODY, trim_whitespace=False, help_text="The current version's body.")
    sha256 = serializers.SerializerMethodField(help_text="SHA-256 of the current body.")
    note = serializers.CharField(
        max_length=300, required=False, allow_blank=True, write_only=True, help_text="What changed."
    )
    base_version = serializers.IntegerField(required=False, allow_null=True, write_only=True, min_value=0)

    class Meta(ScriptSerializer.Meta):
        fields = [*ScriptSerializer.Meta.fields, "body", "sha256", "note", "base_version"]

    def get_sha256(self, script) -> str | None:
        current = _current(script)
        return current.sha256 if current else None

    def validate_body(self, value):
        # The same body a browser's textarea would save: LF line ends.
        return value.replace("\r\n", "\n")


class ScriptVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = ScriptVersion
        fields = ["number", "body", "sha256", "note", "created_by", "created_at"]
        read_only_fields = fields
