"""Settings for the test suite: the real ones, with test-only speed-ups and isolation."""

import atexit
import os
import shutil
import tempfile
import zlib
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from portal.settings import *  # noqa: F403
from portal.settings import CACHES
from portal.settings import REDIS_URL as PORTAL_REDIS_URL

# Each test run gets its own PostgreSQL database and (most likely) its own Redis database, so
# runs on one machine do not disturb each other or a developer's running portal.
TEST_RUN_ID = os.getpid()
DATABASES["default"]["TEST"] = {"NAME": f"test_patchportal_{TEST_RUN_ID}"}  # noqa: F405


def _xdist_worker() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else None


def _test_redis_url() -> str:
    """A Redis database of its own for this process: the suite's workers must not share queues.

    TEST_REDIS_URL names the first database to use (workers gw0, gw1... of pytest-xdist take it
    and the ones after it). Otherwise databases 8 to 15 but 14 (the benchmarks'): workers of
    one run take consecutive ones from an offset that differs between runs.
    """
    worker = _xdist_worker()
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        server, _, db = given.rpartition("/")
        return f"{server}/{int(db or 0) + (worker or 0)}"
    free = [8, 9, 10, 11, 12, 13, 15]
    if worker is None:
        return PORTAL_REDIS_URL.rsplit("/", 1)[0] + f"/{free[TEST_RUN_ID % len(free)]}"
    offset = zlib.crc32(os.environ.get("PYTEST_XDIST_TESTRUNUID", "").encode())
    return PORTAL_REDIS_URL.rsplit("/", 1)[0] + f"/{free[(offset + worker) % len(free)]}"


TEST_REDIS_URL = _test_redis_url()
REDIS_URL = TEST_REDIS_URL
CACHES["default"]["LOCATION"] = TEST_REDIS_URL
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_COOKIES = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = 1  # each test that sends mail starts a real SMTP server and points here
DEMO_MODE = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Worker threads and live-server threads must not keep connections open past a test,
# or the test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# No pool in tests: the test runner swaps credentials (owner to create, app to test) on the
# one connection; the pool (production's default) changes nothing that RLS depends on.
DATABASES["default"].pop("OPTIONS", None)  # noqa: F405
# A throwaway script-signing key for this run (created on first use), never a developer's var/ key.
_TEST_TMP = Path(tempfile.mkdtemp(prefix=f"patchportal-test-{TEST_RUN_ID}-"))
atexit.register(shutil.rmtree, _TEST_TMP, ignore_errors=True)
SCRIPT_SIGNING_KEY_FILE = _TEST_TMP / "script-signing-key.pem"
MEDIA_ROOT = _TEST_TMP / "media"
