"""Server time of an inventory upload of 1,500 packages: first, unchanged, ten changed.

Uploads go through the whole Django stack in this process (the WSGI handler with every
middleware, the agent API view, the SQL), timed from request to response, so the figure is
the server's time without the network. Packages are real Debian 12 names and versions.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import time

from bench import results

PACKAGES = 1_500
DEVICES = 40
TENANT = "bench-inventory"


def debian_universe() -> list[dict]:
    from devices.simulator.profiles import debian_universe as universe

    return [
        {"name": p.name, "version": p.version, "arch": p.arch, "source": p.source, "source_version": p.source_version}
        for p in universe()
    ]


class Handler:
    """Calls the Django WSGI application directly and times it."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.app = WSGIHandler()

    def post(self, path: str, body: dict, token: str | None = None) -> tuple[float, int, dict]:
        raw = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(raw),
            "CONTENT_LENGTH": str(len(raw)),
            "CONTENT_TYPE": "application/json",
            "wsgi.url_scheme": "http",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        status = []
        started = time.perf_counter()
        response = self.app(environ, lambda s, h: status.append(int(s.split()[0])))
        content = b"".join(response)
        response.close()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, status[0], json.loads(content or b"{}")


def _enroll(handler: Handler, tenant, count: int) -> list[str]:
    from devices.models import EnrollmentToken
    from portal.db_scope import tenant_scope

    with tenant_scope([tenant.pk]):
        _, raw = EnrollmentToken.issue(tenant, "bench")
    os_info = {"family": "linux", "id": "debian", "version_id": "12", "name": "Debian GNU/Linux"}
    tokens = []
    for i in range(count):
        _, status, body = handler.post(
            "/api/agent/v1/enroll",
            {"token": raw, "hostname": f"inv-{i}", "machine_id": f"bench-inv-{i}-{random.random()}", "os": os_info},
        )
        assert status == 201, body
        tokens.append(body["device_token"])
    return tokens


def run() -> None:
    from bench.checkin import ensure_tenant
    from devices.inventory import inventory_hash
    from portal.redis import client

    client().flushdb()
    tenant = ensure_tenant(TENANT)
    handler = Handler()
    universe = debian_universe()
    rng = random.Random(1500)
    tokens = _enroll(handler, tenant, DEVICES)

    def upload(token, packages, hash_only=False):
        body = {"format": "dpkg", "hash": inventory_hash("dpkg", packages)}
        if not hash_only:
            body["packages"] = packages
        elapsed, status, answer = handler.post("/api/agent/v1/inventory", body, token)
        assert status == 200, answer
        return elapsed, answer

    first, unchanged, unchanged_hash_only, changed = [], [], [], []
    cold_first = None
    for index, token in enumerate(tokens):
        packages = rng.sample(universe, PACKAGES)
        elapsed, answer = upload(token, packages)
        assert answer["status"] == "applied" and answer["total"] == PACKAGES, answer
        if cold_first is None:
            cold_first = elapsed
        else:
            first.append(elapsed)
        unchanged.append(upload(token, packages)[0])
        unchanged_hash_only.append(upload(token, packages, hash_only=True)[0])
        bumped = list(packages)
        for position in rng.sample(range(PACKAGES), 10):
            entry = dict(bumped[position])
            entry["version"] = entry["source_version"] = entry["version"] + f"+bench{index}"
            bumped[position] = entry
        elapsed, answer = upload(token, bumped)
        assert answer["changed"] == 10, answer
        changed.append(elapsed)

    def med(values):
        return statistics.median(values)

    def p95(values):
        return statistics.quantiles(values, n=20)[-1]

    rows = [
        (
            "first upload, median (packages already in the catalogue from other devices)",
            f"{med(first):.0f} ms",
            "≤ 300 ms",
            results.met(med(first), 300, False),
        ),
        ("first upload, p95", f"{p95(first):.0f} ms", "≤ 300 ms", results.met(p95(first), 300, False)),
        (
            "first upload into an empty catalogue (the very first device)",
            f"{cold_first:.0f} ms",
            "≤ 300 ms",
            results.met(cold_first, 300, False),
        ),
        (
            "unchanged upload with the full list, median",
            f"{med(unchanged):.1f} ms",
            "≤ 20 ms",
            results.met(med(unchanged), 20, False),
        ),
        (
            "unchanged upload with the full list, p95",
            f"{p95(unchanged):.1f} ms",
            "≤ 20 ms",
            results.met(p95(unchanged), 20, False),
        ),
        (
            "unchanged, hash only (what the agent sends), median",
            f"{med(unchanged_hash_only):.1f} ms",
            "≤ 20 ms",
            results.met(med(unchanged_hash_only), 20, False),
        ),
        ("10 packages changed, median", f"{med(changed):.0f} ms", "", ""),
        ("10 packages changed, p95", f"{p95(changed):.0f} ms", "", ""),
    ]
    notes = f"""
Command: `python -m bench inventory` ({DEVICES} devices enrolled through the agent API, each
uploading {PACKAGES} packages sampled from the real Debian 12 package index
(devices/simulator/debian12_packages.tsv.gz), then
the same list again, the hash alone, and the list with 10 versions changed). Server time is the
Django WSGI handler's time for the request in this process, middleware included, network excluded.
"""
    results.write_section(
        "inventory", "Inventory uploads (issue: devices, inventory and the endpoint agent)", rows, notes
    )
