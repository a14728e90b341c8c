"""The REST API and the agent API, fuzzed from their own OpenAPI schema with Schemathesis.

Every operation gets `EXAMPLES` generated requests (three in four valid, one in four breaking the
schema), each sent as one persona drawn from the seven roles and nobody (REST API) or a device of
either tenant and nobody (agent API); half of them name objects that exist, in either tenant.
Every response must:

- not be a 5xx, and have a status code and a body the schema documents for the operation;
- hold no identifier of a tenant the caller may not see (names, hostnames, e-mails, device ids);
- if it is an error, come from a request that changed nothing in the database.

The requests run in the test's own thread and transaction, through Django's WSGI handler, and
each example is rolled back to a savepoint, so every one starts from the same data.
Hypothesis is derandomised: the same requests are sent on every run.
"""

from __future__ import annotations

import logging
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from portal.db_scope import system_scope
from tests.fuzz.api_world import PATH_OBJECTS, PERSONAS, build_fuzz_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# 100 per operation; FUZZ_EXAMPLES changes it for a quicker or a longer local run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
AGENT_PERSONAS = ("device_a", "device_b", "anonymous")


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI handler, in the test's thread and transaction (as Django's test client runs it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    config = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, config=config)


@pytest.fixture
def fuzz_world(world):
    from portal.redis import client

    # Thousands of 4xx answers would each log a warning; 5xx errors are still logged.
    requests_log = logging.getLogger("django.request")
    level = requests_log.level
    requests_log.setLevel(logging.ERROR)
    client().flushdb()
    try:
        yield build_fuzz_world(world)
    finally:
        client().flushdb()
        requests_log.setLevel(level)


def _operations(schema, prefix: str):
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(prefix):
            yield operation


def _collection(path: str) -> str:
    return path.split("{", 1)[0]


class Exerciser:
    """Sends one generated case as a persona and checks the response and the database."""

    def __init__(self, fuzz_world):
        self.world = fuzz_world
        self.writes = self._write_counts()

    def __call__(self, case, persona: str, data) -> None:
        self._use_real_objects(case, data)
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=self.world.headers[persona])
            case.validate_response(response, checks=CHECKS)
            self._assert_no_foreign_data(response, persona)
            if response.status_code >= 400:
                written, savepoint = self.rolled_back_writes(savepoint), None
                assert not written, f"{response.status_code} response, but the request wrote to {written}"
            else:
                self._changed_tables()  # keep the counters current
        finally:
            if savepoint is not None:
                transaction.savepoint_rollback(savepoint)

    def _use_real_objects(self, case, data) -> None:
        """Half the time, point the request at objects that exist (in either tenant)."""
        pool = self.world.path_values.get(_collection(case.operation.path))
        for name in list(case.path_parameters or {}):
            if pool and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(pool), label=name)
        body = case.body
        if isinstance(body, dict):
            if "tenant" in body and data.draw(st.booleans(), label="real tenant"):
                body["tenant"] = data.draw(st.sampled_from(["alpha", "bravo"]), label="tenant")
            if case.operation.path.endswith("/enroll") and data.draw(st.booleans(), label="real token"):
                body["token"] = data.draw(st.sampled_from(self.world.enrollment_tokens), label="token")

    def _assert_no_foreign_data(self, response, persona: str) -> None:
        text = response.content.decode("utf-8", "replace")
        leaked = [marker for marker in self.world.foreign_markers(persona) if marker in text]
        assert not leaked, f"{persona} was shown another tenant's data: {leaked}"

    @staticmethod
    def _write_counts() -> dict[str, int]:
        # Rows inserted, updated or deleted so far in this transaction, rolled back or not.
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
            return dict(cursor.fetchall())

    def rolled_back_writes(self, savepoint) -> list[str]:
        """Roll back to `savepoint`, and name the tables whose rows differed before the rollback."""
        changed = self._changed_tables()
        after = self._checksums(changed)
        transaction.savepoint_rollback(savepoint)
        before = self._checksums(changed)
        return sorted(table for table in changed if after[table] != before[table])

    def _changed_tables(self) -> list[str]:
        before, self.writes = self.writes, self._write_counts()
        return [table for table, count in self.writes.items() if count != before.get(table, 0)]

    @staticmethod
    def _checksums(tables: list[str]) -> dict[str, str]:
        sums = {}
        with system_scope(), connection.cursor() as cursor:
            for table in tables:
                name = connection.ops.quote_name(table)
                cursor.execute(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t")  # noqa: S608
                sums[table] = cursor.fetchone()[0]
        return sums


def _fuzz(operation, personas, exercise) -> None:
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    negative = operation.as_strategy(GenerationMode.NEGATIVE)

    @FUZZ_SETTINGS
    @given(persona=st.sampled_from(personas), data=st.data())
    def run(persona, data):
        # One request in four breaks the schema (a wrong type, a missing field, a list for an object).
        invalid = data.draw(st.integers(min_value=0, max_value=3), label="invalid") == 0
        case = data.draw(negative if invalid else positive, label="case")
        exercise(case, persona, data)

    run()


# The operations in groups of one app each, one test per group (they all share the data setup).
GROUPS = {
    "tenants": (
        "/api/v1/tenants/",
        "/api/v1/sites/",
        "/api/v1/memberships/",
        "/api/v1/users/",
        "/api/v1/audit/",
        "/api/v1/tokens/",
    ),
    "devices": ("/api/v1/devices/", "/api/v1/device-groups/", "/api/v1/enrollment-tokens/"),
    "advisories": ("/api/v1/advisories/", "/api/v1/feed-sources/", "/api/v1/feed-runs/", "/api/v1/cves/"),
    "patches": (
        "/api/v1/findings/",
        "/api/v1/patches/",
        "/api/v1/approvals/",
        "/api/v1/approval-queue/",
        "/api/v1/policies/",
        "/api/v1/exceptions/",
        "/api/v1/scripts/",
    ),
    "deployments": (
        "/api/v1/rings/",
        "/api/v1/windows/",
        "/api/v1/blackouts/",
        "/api/v1/deployments/",
        "/api/v1/jobs/",
    ),
    "agent": ("/api/agent/v1/",),
}


def _group_of(path: str) -> list[str]:
    return [name for name, prefixes in GROUPS.items() if path.startswith(prefixes)]


# Generous: a group takes well under a minute on an idle machine, several on a loaded one.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("group", GROUPS)
def test_every_operation_conforms_to_the_schema_for_every_caller(group, api_schema, fuzz_world, subtests):
    personas = AGENT_PERSONAS if group == "agent" else PERSONAS
    exercise = Exerciser(fuzz_world)
    operations = [op for op in _operations(api_schema, "/api/") if _group_of(op.path) == [group]]
    assert operations
    for operation in operations:
        with subtests.test(msg=operation.label):
            _fuzz(operation, personas, exercise)


def test_the_groups_cover_every_operation_and_path_objects_exist(api_schema, fuzz_world):
    """Every operation is fuzzed once, and reaches existing objects of both tenants, not only 404s."""
    operations = list(_operations(api_schema, "/api/"))
    assert len(operations) > 100
    assert not [op.label for op in operations if len(_group_of(op.path)) != 1]
    collections = {_collection(op.path) for op in operations if "{" in op.path}
    assert collections - {"/api/v1/cves/"} <= set(PATH_OBJECTS)
    assert not [prefix for prefix, values in fuzz_world.path_values.items() if not values]


def test_the_write_check_sees_a_change_and_only_a_change(world):
    from tenants.models import Site

    exercise = Exerciser(fuzz_world=None)
    savepoint = transaction.savepoint()
    Site.objects.filter(pk=world.site_a.pk).update(name="Renamed")
    assert exercise.rolled_back_writes(savepoint) == ["tenants_site"]
    savepoint = transaction.savepoint()
    Site.objects.filter(pk=world.site_a.pk).update(name="Renamed")
    Site.objects.filter(pk=world.site_a.pk).update(name=world.site_a.name)
    assert exercise.rolled_back_writes(savepoint) == []
