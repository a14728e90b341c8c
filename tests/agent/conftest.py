"""Shared helpers for the agent's tests: recorded samples and a throwaway dpkg database.

None of these tests touch the database; the project's settings are loaded only because
pytest is configured for the whole repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[2]


def read_data(*parts: str) -> str:
    return DATA.joinpath(*parts).read_text(encoding="utf-8")


def _control(fields: dict) -> str:
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def _build_deb(workdir: Path, name: str, fields: dict, conffile: str | None = None) -> Path:
    tree = workdir / f"tree-{name}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(_control(fields))
    if conffile:
        target = tree / conffile.lstrip("/")
        target.parent.mkdir(parents=True)
        target.write_text("setting = 1\n")
        (tree / "DEBIAN" / "conffiles").write_text(conffile + "\n")
    else:
        (tree / "usr" / "share" / "doc" / f"{fields['Package']}-{fields['Architecture']}").mkdir(parents=True)
    deb = workdir / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)], check=True, capture_output=True)
    return deb


def build_scratch_dpkg_db(root: Path) -> Path:
    """A dpkg database of its own under ``root``, holding states this machine does not have.

    Real dpkg operations put it there: a package removed without purge (state ``rc``), and
    a Multi-Arch: same library installed for amd64 and i386 whose version is a binNMU of its
    source. Returns the admin directory for ``dpkg-query --admindir``.
    """
    admindir = root / "var" / "lib" / "dpkg"
    for sub in ("info", "updates", "triggers"):
        (admindir / sub).mkdir(parents=True)
    (admindir / "status").touch()
    (admindir / "available").touch()
    maintainer = "PatchPortal tests <tests@example.invalid>"
    conffile_deb = _build_deb(
        root,
        "demo-conffile",
        {
            "Package": "demo-conffile",
            "Version": "1.0-1",
            "Architecture": "all",
            "Maintainer": maintainer,
            "Description": "package removed with its conffile kept",
        },
        conffile="/etc/demo/demo.conf",
    )
    library_debs = [
        _build_deb(
            root,
            f"demo-lib-{arch}",
            {
                "Package": "demo-lib",
                "Source": "demo-src (1.0-1)",
                "Version": "1.0-1+b1",
                "Architecture": arch,
                "Multi-Arch": "same",
                "Maintainer": maintainer,
                "Description": "co-installable library, binNMU of demo-src",
            },
        )
        for arch in ("amd64", "i386")
    ]
    dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless"]
    subprocess.run([*dpkg, "--add-architecture", "i386"], check=True, capture_output=True)
    subprocess.run([*dpkg, "--force-architecture", "-i", str(conffile_deb)], check=True, capture_output=True)
    subprocess.run([*dpkg, "-r", "demo-conffile"], check=True, capture_output=True)
    subprocess.run([*dpkg, "--force-architecture", "-i", *map(str, library_debs)], check=True, capture_output=True)
    return admindir


@pytest.fixture(scope="session")
def scratch_dpkg_admindir(tmp_path_factory) -> Path:
    if not (shutil.which("dpkg") and shutil.which("dpkg-deb")):
        pytest.skip("needs dpkg and dpkg-deb")
    if os.geteuid() != 0:
        pytest.skip("dpkg --root unpacks files as root")
    return build_scratch_dpkg_db(tmp_path_factory.mktemp("dpkg-root"))
