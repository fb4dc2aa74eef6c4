"""Waypoint settings: one module, every value from the environment.

Locally (DJANGO_DEBUG unset) everything has a safe default: SQLite in var/, an embedded
file-system broker, mail to the console. With DJANGO_DEBUG=false the secret key, allowed hosts,
database and site URL must be given, or the process refuses to start.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _required(name, local_default):
    """A value production must set; locally a harmless default is fine."""
    if name in env:
        return env.str(name)
    if DEBUG:
        return local_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is false.")


SECRET_KEY = _required("DJANGO_SECRET_KEY", "local-only-insecure-key-do-not-use-in-production")
# Key rotation (docs/deploy.md): the previous key(s), still accepted for signatures.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
if not DEBUG and "DJANGO_ALLOWED_HOSTS" not in env:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is false.")
SITE_URL = _required("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # Django's admin on an AdminSite that also asks for the second factor (journey/security).
    "journey.security.apps.WaypointAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "phonenumber_field",
    "auditlog",
    "journey",
    "tracker",
    "reports",  # "something is wrong": families' reports to the care team
    "conversations",  # secure messages between families and the care team
    "notifications",
    "interfaces",  # results from lab systems (HL7 v2 over MLLP, drop folder)
    "audit",
    "devdata",  # seed_demo, demo_code, seed_scale: local demo and bench data, no models
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Cache-Control: private, no-store on every portal and admin response (patient data).
    "journey.security.headers.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the second factor (django-otp's, the device read with the user).
    "journey.security.otp.OTPMiddleware",
    # Idle and absolute session limits, and a guardian's opt-in second factor.
    "journey.security.sessions.SessionLimitsMiddleware",
    # Who did it (auditlog's actor) and which patient record staff looked at.
    "audit.middleware.AuditActorMiddleware",
    "audit.middleware.StaffViewAuditMiddleware",
    # Login, password reset, invitation and calendar feed: 429 over the limit.
    "journey.security.ratelimits.RateLimitMiddleware",
    # The logged-in guardian's language and time zone (after authentication).
    "journey.portal.middleware.GuardianLocaleMiddleware",
    # Staff pages' times in their center's zone (named in the admin header).
    "journey.security.staff_zone.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
            "libraries": {"portal": "journey.portal.templatetags"},
        },
    },
]

if DEBUG:
    _default_db = f"sqlite:///{VAR_DIR / 'waypoint.sqlite3'}"
else:
    _default_db = _required("DATABASE_URL", "")
DATABASES = {"default": env.db_url("DATABASE_URL", default=_default_db)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "journey.User"
# django-axes checks for a lockout first; it never logs anyone in itself. Then Django's
# ModelBackend, reading the user with their guardian row and second-factor device in one query.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "journey.security.backends.WaypointBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for one day
# Argon2id for new and re-hashed passwords; older hashes still verify and upgrade on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# ISO dates in and out in every language (config/formats): never 5/12/2026.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves hashed names (portal.3f2a1c.css) as immutable for ten years by itself;
# this is for the few files fetched by their plain name.
WHITENOISE_MAX_AGE = 0 if DEBUG else 60 * 60
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail: an SMTP URL (smtp+tls://user:pass@host:587) in production. Without EMAIL_URL (the
# demo, local runs) each email is one INFO line in the log: recipient, subject, text.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if "EMAIL_URL" not in env:
    EMAIL_BACKEND = "notifications.mail.LogBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Waypoint <no-reply@waypoint.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The cache holds rate limits (and, with Redis, sessions): never patient data, pages, logins
# or permissions. Redis when REDIS_URL is set, so every process counts together; otherwise
# this process's memory (local runs and tests).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("DJANGO_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "waypoint",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# With Redis (shared by every process), sessions are read from the cache and written through
# to the database: no session query per request. A per-process cache would let another
# process keep a logged-out session, so without Redis they stay in the database only.
if REDIS_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery. With REDIS_URL unset, a file-system broker in var/ lets a worker and beat run as
# separate processes with no server at all (make demo). Production sets REDIS_URL.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than any task (time limit below): a message unacked this long is redelivered.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    }
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
# Separate queues (docs/scaling.md): a planning sweep never delays sending, and a burst of
# guardians' emails never delays a coordinator's critical-result alert.
CELERY_TASK_ROUTES = {
    "notifications.tasks.plan_*": {"queue": "planning"},
    "notifications.tasks.dispatch_due": {"queue": "dispatch"},
    "notifications.tasks.dispatch_alerts": {"queue": "alerts"},
    "notifications.tasks.dispatch_texts": {"queue": "dispatch"},
}
# Reminders (docs/reminders.md): beat only says "look now"; due times live in the database.
CELERY_BEAT_SCHEDULE = {
    "reminders-plan": {
        "task": "notifications.tasks.plan_reminders",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Every 20 s: with the 20 s lease, a dead worker's rows go out again within 40 s.
    "reminders-dispatch": {
        "task": "notifications.tasks.dispatch_due",
        "schedule": 20.0,
        "options": {"expires": 15},
    },
    "reminders-texts": {
        "task": "notifications.tasks.dispatch_texts",
        "schedule": 20.0,
        "options": {"expires": 15},
    },
    "reminders-alerts": {
        "task": "notifications.tasks.dispatch_alerts",
        "schedule": 20.0,
        "options": {"expires": 15},
    },
    # Lab results accepted while the broker was down (docs/interfaces.md).
    "interfaces-waiting": {
        "task": "interfaces.tasks.process_waiting",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Keeping families in follow-up (journey.followup): contact checks and "at risk" marks.
    "follow-up": {
        "task": "notifications.tasks.plan_follow_up",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Plans that drifted from their journey (docs/monitoring.md "Plans never drift"): hourly,
    # on the planning queue so a long repair never delays an alert.
    "plans-repair": {
        "task": "tracker.tasks.repair_plans",
        "schedule": 3600.0,
        "options": {"expires": 3000, "queue": "planning"},
    },
    # Birthdays that change a family's access (journey.custody.ages): each center's own day
    # begins at its midnight, so hourly; every step happens once whatever the runs.
    "custody-ages": {
        "task": "notifications.tasks.age_transitions",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}

# Security. Production (DEBUG false) gets HTTPS-only cookies, HSTS and a redirect to HTTPS;
# TLS ends at the proxy, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG
# Uptime monitors and Prometheus may ask the app server directly on the private network:
# neither answer holds patient data (docs/deploy.md "Monitoring delivery").
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): no inline script or style anywhere, nothing framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Sessions (docs/security.md): logged out after inactivity (staff 15 min, families 30 min)
# and 12 hours after login whatever happens; the cookie never outlives the absolute limit.
WAYPOINT_SESSION_IDLE_STAFF = timedelta(minutes=env.int("SESSION_IDLE_STAFF_MINUTES", default=15))
WAYPOINT_SESSION_IDLE_FAMILY = timedelta(minutes=env.int("SESSION_IDLE_FAMILY_MINUTES", default=30))
WAYPOINT_SESSION_ABSOLUTE = timedelta(hours=env.int("SESSION_ABSOLUTE_HOURS", default=12))
SESSION_COOKIE_AGE = int(WAYPOINT_SESSION_ABSOLUTE.total_seconds())
SESSION_COOKIE_SAMESITE = "Lax"

# Second factor (django-otp): TOTP apps show this issuer; backup codes are single-use.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Waypoint")
# Nobody, administrators included, reads another person's TOTP secret or QR code in the admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
WAYPOINT_BACKUP_CODES = 10

# Audit trail (docs/security.md): django-auditlog writes into audit.AuditRecord, append-only.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditRecord"
AUDITLOG_STORE_JSON_CHANGES = True
# auditlog's own migrations would create its (swapped-out) log table, with foreign keys that
# block PostgreSQL's TRUNCATE of users; audit.AuditRecord is the only log table.
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_DISABLE_REMOTE_ADDR = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Login lockout (django-axes): 5 failures for one email from one address lock that pair out.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field (it holds the email)
AXES_USERNAME_CALLABLE = "journey.portal.auth.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The lockout page wears the staff header at the admin's login, the portal's look elsewhere.
AXES_LOCKOUT_CALLABLE = "journey.security.lockout.lockout_response"
# Behind N proxies that set X-Forwarded-For, DJANGO_PROXY_COUNT=N finds the client's address;
# unset, the socket's address counts (behind a proxy: the lockout is then by email alone).
AXES_IPWARE_PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0) or None
# The same client address for rate limits and the audit trail.
WAYPOINT_PROXY_COUNT = AXES_IPWARE_PROXY_COUNT or 0

# Rate limits (django-ratelimit on the cache above): "count/period" per key.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "journey.security.ratelimits.client_ip"
WAYPOINT_RATE_LIMITS = {
    "login": {"ip": "30/10m", "username": "10/10m"},
    "password_reset": {"ip": "10/h", "email": "5/h"},
    "accept_invitation": {"ip": "30/10m"},
    "two_factor": {"ip": "30/10m", "user": "10/10m"},
    "calendar_feed": {"ip": "600/h", "token": "60/h"},
    "symptom_report": {"user": "10/h"},
    "outside_result": {"user": "20/h"},
    "secure_message": {"user": "30/h"},
    "fhir_in": {"ip": env.str("WAYPOINT_FHIR_RATE", default="600/m")},
}

# Waypoint's own knobs.
# A family's report: hours to the care team's "respond by" deadline (urgent: a sign was ticked).
REPORTS_RESPONSE_HOURS = {
    "urgent": env.int("REPORTS_RESPONSE_HOURS_URGENT", default=1),
    "other": env.int("REPORTS_RESPONSE_HOURS", default=24),
}
# A family's outside lab report (photo or PDF): stored here, outside STATIC_ROOT and any URL,
# under a random name; served only through a view that checks access. Largest upload in bytes.
WAYPOINT_PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=VAR_DIR / "private")
REPORTS_UPLOAD_MAX_BYTES = env.int("REPORTS_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
WAYPOINT_EVIDENCE_VALIDITY_DAYS = env.int("WAYPOINT_EVIDENCE_VALIDITY_DAYS", default=90)
# A portal invitation link works for this many days; a new one replaces it.
# Lab interfaces (docs/interfaces.md): the MLLP listener's address and the drop folder.
WAYPOINT_MLLP_HOST = env.str("WAYPOINT_MLLP_HOST", default="127.0.0.1")
WAYPOINT_MLLP_PORT = env.int("WAYPOINT_MLLP_PORT", default=2575)
WAYPOINT_HL7_DROP_DIR = env.str("WAYPOINT_HL7_DROP_DIR", default=str(VAR_DIR / "hl7-drop"))
WAYPOINT_INVITATION_DAYS = env.int("WAYPOINT_INVITATION_DAYS", default=7)

# Reminder delivery (docs/reminders.md "When the relay is slow or down", docs/deploy.md).
# A batch's lease: a live worker renews it every third of this while it sends; a dead
# worker's rows go back to the queue this long after its last renewal.
NOTIFICATIONS_LEASE_SECONDS = env.float("DISPATCH_LEASE_SECONDS", default=20.0)
NOTIFICATIONS_SMTP_TIMEOUT = env.float("DISPATCH_SMTP_TIMEOUT_SECONDS", default=10.0)
# A message-level 4xx waits this long (doubling per attempt, capped at an hour) before a retry.
NOTIFICATIONS_RETRY_BASE_SECONDS = env.float("DISPATCH_RETRY_BASE_SECONDS", default=60.0)
# Relay unreachable (refused, connect timeout, 421): everyone pauses; one probe after this
# wait, doubling per failed probe up to the cap.
NOTIFICATIONS_BREAKER_BASE_SECONDS = env.float("RELAY_BREAKER_BASE_SECONDS", default=30.0)
NOTIFICATIONS_BREAKER_MAX_SECONDS = env.float("RELAY_BREAKER_MAX_SECONDS", default=300.0)
# A relay down longer than this is logged at ERROR and shown on the coordinators' worklist.
NOTIFICATIONS_RELAY_ALERT_SECONDS = env.float("RELAY_ALERT_AFTER_SECONDS", default=600.0)

# Text messages (notifications.sms, docs/reminders.md): "console" (the demo: one log line per
# text), "twilio" (Twilio's official SDK) or a dotted path to a backend class. TWILIO_API_BASE
# points the SDK at a local fake of Twilio's API (tests only; production talks to Twilio).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10.0)
if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM):
    raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM.")
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"
# GET /health/ answers 503 past any of these (oldest overdue reminder, failures in 24 h,
# relay down).
HEALTH_MAX_OVERDUE_SECONDS = env.float("HEALTH_MAX_OVERDUE_SECONDS", default=900.0)
HEALTH_MAX_FAILED_24H = env.int("HEALTH_MAX_FAILED_24H", default=50)
HEALTH_MAX_RELAY_DOWN_SECONDS = env.float("HEALTH_MAX_RELAY_DOWN_SECONDS", default=600.0)
# GET /metrics (Prometheus): a bearer token, or a client address in these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])

# Where staff land after logging in (and passing the second factor): the nurse's worklist.
WAYPOINT_STAFF_HOME = "admin:tracker_worklist_changelist"
