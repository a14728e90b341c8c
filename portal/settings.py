"""Settings for the patch portal, read from the environment (see README's configuration table).

A `.env` file beside manage.py is read first if present; real environment
variables win over it. `make run` writes a `.env` with random local secrets.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from portal.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
# DOTENV_PATH="" turns the file off (containers, and the settings tests).
_dotenv = envstr("DOTENV_PATH", str(BASE_DIR / ".env"))
if _dotenv:
    load_dotenv(_dotenv, override=False)

DEBUG = envbool("DEBUG", False)
# Demo mode: `seed_demo` may print demo passwords and TOTP secrets. Never on in production.
DEMO_MODE = envbool("DEMO_MODE", False)
# `make bench` serves a constant view beside the real endpoints to compare against.
BENCH_ENDPOINTS = envbool("BENCH_ENDPOINTS", False)

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - DEBUG only, refused otherwise

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # portal first: its `migrate` command replaces Django's to run as the schema owner.
    "portal",
    "tenants",
    "devices",
    "advisories",
    "patches",
    "deployments",
    "reports",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "csp",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.AgentApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.TenantScopeMiddleware",
    "tenants.middleware.StaffTwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# The running app connects as an ordinary role that is subject to row-level security;
# migrations connect as the role that owns the tables (see portal/management/commands/migrate.py).
DATABASE_URL = envstr("DATABASE_URL", "postgres://patchportal_app:patchportal_app@127.0.0.1:5432/patchportal")
MIGRATION_DATABASE_URL = envstr(
    "MIGRATION_DATABASE_URL", "postgres://patchportal_owner:patchportal_owner@127.0.0.1:5432/patchportal"
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A pool per process, shared by its threads: a threaded web worker must not hold one
# connection per thread. DB_POOL_SIZE=0 falls back to one persistent connection per thread.
DB_POOL_SIZE = envint("DB_POOL_SIZE", 8)
if DB_POOL_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The pool checks a connection before lending it (one empty query): after a PostgreSQL
    # restart it must not hand out the dead connections it kept (tests/faults).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # How long a request waits for a connection before failing (also while PostgreSQL is down).
    DB_POOL_TIMEOUT = envint("DB_POOL_TIMEOUT", 20)
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": DB_POOL_TIMEOUT}}
MIGRATION_DATABASE = dj_database_url.parse(MIGRATION_DATABASE_URL)
# Remembered separately: `migrate` swaps the default connection's credentials to the owner's.
APP_DATABASE_USER = DATABASES["default"]["USER"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -----------------------------------------------------------------
REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": envstr("CACHE_KEY_PREFIX", "patchportal"),
    }
}

CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 360)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

CELERY_BEAT_SCHEDULE = {
    "flush-device-presence": {"task": "devices.tasks.flush_presence", "schedule": 15.0},
    "trim-checkin-history": {"task": "devices.tasks.trim_checkin_history", "schedule": 60 * 60 * 6},
    "sync-due-feeds": {"task": "advisories.tasks.sync_due_feeds", "schedule": 60.0},
    # Late in each quarter of the UTC day, so the last run of a day sees nearly all of it.
    "compliance-snapshot": {
        "task": "patches.tasks.daily_compliance_snapshot",
        "schedule": crontab(minute=50, hour="5,11,17,23"),
    },
    "rescore-open-findings": {"task": "patches.tasks.rescore_open_findings", "schedule": 60 * 60 * 24},
    # Findings are kept current by matching tasks that uploads and feed syncs queue; one lost with
    # the broker (a Redis restart) is made good here. A full recompute of 10,000 devices takes
    # about 10 s (bench/RESULTS.md), cheap enough to run four times a day.
    "reconcile-findings": {"task": "patches.tasks.match_everything", "schedule": crontab(minute=20, hour="*/6")},
    "auto-approve-patches": {"task": "patches.tasks.auto_approve_patches", "schedule": 60 * 60},
    # Deferrals and accepted risks end at midnight in each tenant's zone: every quarter hour.
    "approvals-housekeeping": {"task": "patches.tasks.approvals_housekeeping", "schedule": 15 * 60},
    # Releases batches, sweeps lost leases, promotes rings and watches health (deployments.tasks).
    "deployments-tick": {"task": "deployments.tasks.tick", "schedule": 60.0},
    # Approved patches to the devices whose policy says auto_deploy (deployments.auto_deploy).
    "deployments-auto-deploy": {"task": "deployments.tasks.auto_deploy", "schedule": 60 * 60},
    # Report schedules that are due (times in each tenant's zone), and lost report e-mails.
    "report-schedules": {"task": "reports.tasks.run_due_schedules", "schedule": 60.0},
}
# --- Advisory feeds -----------------------------------------------------------------------
NVD_API_KEY = envstr("NVD_API_KEY", "")
# NVD asks for a pause between requests: 6 s without an API key, less with one.
NVD_REQUEST_DELAY = float(envstr("NVD_REQUEST_DELAY", "6" if not NVD_API_KEY else "0.6"))
NVD_INITIAL_SINCE = envstr("NVD_INITIAL_SINCE", "2023-01-01T00:00:00+00:00")
MSRC_MONTHS = envint("MSRC_MONTHS", 3)

# --- Agents -------------------------------------------------------------------------------
AGENT_MAX_BODY_BYTES = envint("AGENT_MAX_BODY_BYTES", 16 * 1024 * 1024)
AGENT_CHECKIN_INTERVAL = envint("AGENT_CHECKIN_INTERVAL", 300)
# How long an agent holds a claimed job without reporting progress (deployments.jobs).
JOB_LEASE_SECONDS = envint("JOB_LEASE_SECONDS", 600)
# The wait before retrying a job after its first failed attempt; it doubles with each attempt.
JOB_RETRY_BACKOFF_SECONDS = envint("JOB_RETRY_BACKOFF_SECONDS", 300)
# After an install the device must report healthy within this time (deployments.watch).
HEALTH_WATCH_MINUTES = envint("HEALTH_WATCH_MINUTES", 30)
# A job the agent reports done that no inventory has confirmed by then counts as unverified.
JOB_VERIFY_MINUTES = envint("JOB_VERIFY_MINUTES", 240)
# Alert deliveries are retried with doubling delays (deployments.alerts).
ALERT_DELIVERY_ATTEMPTS = envint("ALERT_DELIVERY_ATTEMPTS", 6)
ALERT_RETRY_DELAY_SECONDS = envint("ALERT_RETRY_DELAY_SECONDS", 30)
DEVICE_STALE_AFTER_DAYS = envint("DEVICE_STALE_AFTER_DAYS", 7)
CHECKIN_HISTORY_DAYS = envint("CHECKIN_HISTORY_DAYS", 30)
# The private key that signs scripts for agents (portal/signing.py), created on first use if
# missing. Every server of one installation must read the same file: agents pin its public key.
SCRIPT_SIGNING_KEY_FILE = Path(envstr("SCRIPT_SIGNING_KEY_FILE", str(BASE_DIR / "var" / "script-signing-key.pem")))

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tenants.auth_backend.EmailBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2
OTP_TOTP_ISSUER = envstr("OTP_TOTP_ISSUER", "Patch Portal")

# Login throttling: lock a (user, address) pair after repeated failures, counted in Redis.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0) or None

# --- Security headers and cookies ---------------------------------------------------------
SECURE_COOKIES = envbool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = 0 if DEBUG else envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    # JSON for agents, not pages: no policy to build on the hottest path.
    "EXCLUDE_URL_PREFIXES": ["/api/agent/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- I18N, time ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Reports ------------------------------------------------------------------------------
# How long a report's signed download link stays valid, in seconds (reports/links.py).
REPORT_LINK_MAX_AGE = envint("REPORT_LINK_MAX_AGE", 7 * 24 * 60 * 60)
# The largest branding logo an admin may upload, in bytes.
BRANDING_LOGO_MAX_BYTES = envint("BRANDING_LOGO_MAX_BYTES", 512 * 1024)
# Scheduled report e-mails (reports/delivery.py): a PDF up to this size is attached, a larger one
# is sent as a signed download link. Attachments grow by a third in transit (base64).
REPORT_EMAIL_ATTACHMENT_MAX_BYTES = envint("REPORT_EMAIL_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
# Attempts per report e-mail, and the first retry's delay (doubling after each failure).
REPORT_DELIVERY_ATTEMPTS = envint("REPORT_DELIVERY_ATTEMPTS", 6)
REPORT_RETRY_DELAY_SECONDS = envint("REPORT_RETRY_DELAY_SECONDS", 120)

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = envstr("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Patch Portal <patches@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiTokenAuthentication",
        "tenants.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "portal.api_schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute"},
    "EXCEPTION_HANDLER": "portal.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patch Portal API",
    "DESCRIPTION": "Multi-tenant patch management for managed service providers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/(v1|agent/v1)",
    "ENUM_NAME_OVERRIDES": {
        "FindingStateEnum": "patches.models.findings.FindingState",
        "FindingKindEnum": "patches.models.findings.FindingKind",
        "UpdateKindEnum": "devices.models.updates.UpdateKind",
        "FeedKindEnum": "advisories.models.feeds.FeedKind",
        "PatchKindEnum": "patches.models.catalogue.PatchKind",
        "ScopeEnum": "patches.models.scoping.Scope",
        "JobStateEnum": "deployments.models.jobs.JobState",
        "JobKindEnum": "deployments.models.jobs.JobKind",
    },
}

# --- Logging: one JSON object per line, with the request id ------------------------------
LOG_LEVEL = envstr("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # WeasyPrint logs every layout step of every PDF at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
