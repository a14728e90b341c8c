"""Building blocks for policy and approval tests: patches, and devices that miss them."""

from __future__ import annotations

import datetime as dt
import itertools

from advisories.models import Advisory
from patches.models import Finding, Patch, PatchAdvisory

_serial = itertools.count(1)


def make_patch(name=None, *, kind="package", classification="security", severity="high", kev=False, **fields):
    number = next(_serial)
    defaults = {
        "ecosystem": "Debian:12" if kind == "package" else "Windows" if kind == "windows" else "winget",
        "name": name or f"pkg{number}",
        "version": f"1.{number}-1" if kind == "package" else "",
        "title": "",
        "product": name or f"pkg{number}",
        "released_on": dt.date(2026, 11, 1),
    }
    defaults.update(fields)
    patch = Patch.objects.create(kind=kind, classification=classification, severity=severity, kev=kev, **defaults)
    advisory = Advisory.objects.create(
        advisory_id=f"TEST-{number}", kind="osv", summary=f"{patch.name} issue", severity=severity, cves=patch.cves
    )
    PatchAdvisory.objects.create(patch=patch, advisory=advisory)
    return patch


def missing(device, patch, *, score=50.0, kev=False, state="open") -> Finding:
    """An open finding on the device that the patch fixes."""
    return Finding.objects.create(
        tenant_id=device.tenant_id,
        device=device,
        kind="package",
        patch=patch,
        advisory=patch.advisories.first(),
        reference=patch.advisories.first().advisory_id,
        package_name=patch.name,
        source_package=patch.name,
        installed_version="1.0-1",
        fixed_version=patch.version,
        severity=patch.severity,
        kev=kev,
        score=score,
        state=state,
    )
