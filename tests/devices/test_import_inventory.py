"""Air-gapped import of dpkg-query and rpm -qa output, including this machine's real inventory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from devices.inventory_files import ParseError, parse_dpkg_query, parse_rpm_qa
from devices.models import Device, DeviceSoftware

pytestmark = pytest.mark.django_db

DPKG_FORMAT = (
    "${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n"
)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"


def real_dpkg_query() -> str:
    fmt = DPKG_FORMAT.replace("\\t", "\t").replace("\\n", "\n")
    return subprocess.run(["dpkg-query", "-W", f"-f={fmt}"], capture_output=True, text=True, check=True).stdout


def test_this_machines_inventory_imports_with_every_installed_package(tmp_path, world):
    text = real_dpkg_query()
    path = tmp_path / "inventory.txt"
    path.write_text(text)
    installed = [line.split("\t") for line in text.splitlines() if line.startswith("ii")]
    call_command("import_inventory", str(path), tenant="alpha", hostname="this-machine", os="Debian:12")
    device = Device.objects.get(hostname="this-machine")
    assert device.ecosystem == "Debian:12"
    assert device.software.count() == len(installed) == device.package_count
    # Each package keeps its source package and source version.
    stored = {
        (r.package.name, r.arch): (r.package.source_name, r.package.source_version)
        for r in DeviceSoftware.objects.filter(device=device).select_related("package")
    }
    for _, binary, version, arch, source, source_version in installed:
        name = binary.split(":")[0]
        assert stored[(name, arch)] == (source or name, source_version or version)


def test_hard_cases_are_read_right():
    text = (FIXTURES / "debian12_hard_cases.dpkg").read_text()
    packages = {p["name"]: p for p in parse_dpkg_query(text)}
    assert "curl" not in packages and "libcurl4" not in packages  # rc lines
    assert packages["bash"]["source_version"] == "5.2.15-2"  # binNMU +b7 binary over the source version
    assert packages["libssl3"]["source"] == "openssl"  # a binary named differently from its source
    assert packages["libxslt1.1"]["version"].startswith("1:")  # a binary with its own epoch
    assert packages["libxslt1.1"]["source_version"] == "1.1.35-1"


def test_rpm_qa_output_is_read(tmp_path, world):
    text = (
        "openssl-libs\t1:3.0.7-24.el9\tx86_64\topenssl-3.0.7-24.el9.src.rpm\n"
        "gpg-pubkey\t0:fd431d51-4ae0493b\t(none)\t(none)\n"
        "bash\t0:5.1.8-9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n"
    )
    assert [p["name"] for p in parse_rpm_qa(text)] == ["openssl-libs", "bash"]
    path = tmp_path / "rpm.txt"
    path.write_text(text)
    call_command("import_inventory", str(path), tenant="alpha", hostname="rhel-01", os="Red Hat:9")
    device = Device.objects.get(hostname="rhel-01")
    assert device.ecosystem == "Red Hat:9" and device.package_count == 2


def test_reimporting_the_same_file_changes_nothing(tmp_path, world, capsys):
    path = tmp_path / "inv.txt"
    path.write_text((FIXTURES / "debian12_hard_cases.dpkg").read_text())
    call_command("import_inventory", str(path), tenant="alpha", hostname="h", os="Debian:12")
    call_command("import_inventory", str(path), tenant="alpha", hostname="h", os="Debian:12")
    assert "unchanged" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "message"),
    [("ii \tonly-three\t1.0\n", "expected 6"), ("ii \t\t1.0\tamd64\t\t\n", "required")],
)
def test_a_malformed_file_is_refused_with_the_line_number_and_nothing_is_stored(tmp_path, world, text, message):
    path = tmp_path / "bad.txt"
    path.write_text("ii \tbash\t5.2.15-2+b2\tamd64\tbash\t5.2.15-2\n" + text)
    with pytest.raises(CommandError, match=f"line 2: .*{message}"):
        call_command("import_inventory", str(path), tenant="alpha", hostname="h", os="Debian:12")
    assert not Device.objects.filter(hostname="h").exists()


def test_unknown_tenant_or_os_is_refused(tmp_path, world):
    path = tmp_path / "x.txt"
    path.write_text("")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_inventory", str(path), tenant="nope", hostname="h", os="Debian:12")
    with pytest.raises(CommandError, match="--os must be"):
        call_command("import_inventory", str(path), tenant="alpha", hostname="h", os="Gentoo:2")


def test_parse_errors_name_the_line():
    with pytest.raises(ParseError, match="line 1"):
        parse_rpm_qa("bash\t5.1\tx86_64\tbash.src.rpm\n")
