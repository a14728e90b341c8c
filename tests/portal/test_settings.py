"""Settings come from the environment and refuse unsafe production configurations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envint, envlist, envstr

ROOT = Path(__file__).resolve().parents[2]


def run_settings(env: dict) -> subprocess.CompletedProcess:
    """Import the production settings in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DEBUG", "DJANGO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(s.DEBUG, s.SECURE_HSTS_SECONDS)"],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), "DOTENV_PATH": ""},
        capture_output=True,
        text=True,
    )


def test_without_debug_the_site_refuses_to_start_without_a_secret_key():
    result = run_settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_with_a_secret_key_production_settings_load_with_hsts():
    result = run_settings({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "31536000"]


def test_debug_may_run_without_a_secret_key_and_without_hsts():
    result = run_settings({"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "0"]


def test_typed_helpers_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL must be a boolean"):
        envbool("X_BOOL", False)
    with pytest.raises(ImproperlyConfigured, match="X_INT must be an integer"):
        envint("X_INT", 1)


def test_typed_helpers_read_values_and_files(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    monkeypatch.setenv("X_ON", "yes")
    assert envstr("X_SECRET") == "from-a-file"
    assert envlist("X_LIST", []) == ["a", "b", "c"]
    assert envbool("X_ON", False) is True
    assert envint("X_MISSING", 7) == 7
