"""Agent API errors: a status and a message, and validation errors keyed by field path."""

from __future__ import annotations

import functools

from rest_framework import serializers
from rest_framework.response import Response


class AgentError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail

    def response(self) -> Response:
        return Response({"detail": self.detail}, status=self.status)


class PayloadInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid payload")
        self.errors = errors

    def response(self) -> Response:
        return Response({"errors": self.errors}, status=400)


def flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {"packages[3].version": ["…"]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):  # ListField reports item errors keyed by index
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten(value, name))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix or "body"] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "body"] = [str(errors)]
    return flat


@functools.cache
def _bound(serializer_class):
    # DRF deep-copies every declared field when a serializer is instantiated; on the agent
    # hot path that costs more than the rest of the request. The fields of one shared
    # instance are stateless validators, so they are reused across requests and threads.
    return serializer_class()


def _run(serializer_class, data):
    try:
        return _bound(serializer_class).run_validation(data), None
    except serializers.ValidationError as exc:
        return None, exc.detail


def validate(serializer_class, data, prefix: str = ""):
    value, errors = _run(serializer_class, data)
    if errors is not None:
        raise PayloadInvalid(flatten(errors, prefix))
    return value


def validate_items(serializer_by_key, items: list, key_field: str, prefix: str, fixed_key: str | None = None):
    """Validate a list whose entries' fields depend on a key (a format or a `kind` field)."""
    errors: dict[str, list[str]] = {}
    valid = []
    for index, item in enumerate(items):
        path = f"{prefix}[{index}]"
        if not isinstance(item, dict):
            errors[path] = ["Expected an object."]
            continue
        key = fixed_key or item.get(key_field)
        serializer_class = serializer_by_key.get(key) if isinstance(key, str) else None
        if serializer_class is None:
            errors[f"{path}.{key_field}"] = [f"Must be one of: {', '.join(serializer_by_key)}."]
            continue
        value, item_errors = _run(serializer_class, item)
        if item_errors is None:
            valid.append(value)
        else:
            errors.update(flatten(item_errors, path))
        if len(errors) >= 50:  # enough to fix the agent; do not build a megabyte of errors
            break
    if errors:
        raise PayloadInvalid(errors)
    return valid
