"""Settings for Clinic, read from the environment (and a `.env` file) by django-environ.

One settings module for every environment: development, tests and production
differ only in their environment variables. `.env.example` documents each one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE lets a test (or an operator) point at another file; variables already in
# the environment always win over the file. The test suite reads no file unless
# told: a developer's .env (LOG_FORMAT=plain, say) must not change what it checks.
if "ENV_FILE" in os.environ or "PYTEST_VERSION" not in os.environ:
    env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not DEBUG and env.str("CLINIC_KEYLESS_COMMAND", default=""):
    # manage.py's KEYLESS_COMMANDS (makemigrations --check on a fresh clone): nothing
    # they do is signed, so a key of their own, never seen again, will do.
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or .env; "
            "a development key is only used when DEBUG is on."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- The clinic --------------------------------------------------------------

CLINIC_NAME = env.str("CLINIC_NAME", default="Riverside Clinic")
# Printed on prescriptions (and wherever the clinic introduces itself on paper); the
# phone is also given in the texts that invite a call.
CLINIC_ADDRESS = env.str("CLINIC_ADDRESS", default="")
CLINIC_PHONE = env.str("CLINIC_PHONE", default="")
CLINIC_TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="America/New_York")
CLINIC_CURRENCY = env.str("CLINIC_CURRENCY", default="USD")
# The region whose national phone format reception may type (ISO 3166 code).
CLINIC_PHONE_REGION = env.str("CLINIC_PHONE_REGION", default="US")

# Scheduling: free slots start on this grid, and a booking may start this many
# minutes in the past so a walk-in can be booked "now".
SCHEDULING_SLOT_MINUTES = env.int("SCHEDULING_SLOT_MINUTES", default=15)
SCHEDULING_WALK_IN_GRACE_MINUTES = env.int("SCHEDULING_WALK_IN_GRACE_MINUTES", default=15)
# A doctor may start a session this many minutes before the appointment's time.
SESSION_START_LEAD_MINUTES = env.int("SESSION_START_LEAD_MINUTES", default=30)
# Records: a doctor reads the chart of a patient booked with them this many weeks
# ahead (to prepare the visit) without stating a reason, as they do for patients
# who came to them; any other chart needs one (records.selectors.is_own_patient).
RECORDS_OWN_PATIENT_WEEKS_AHEAD = env.int("RECORDS_OWN_PATIENT_WEEKS_AHEAD", default=4)
# Vitals are stored in °C and kg and shown and typed in these units (records.units).
CLINIC_TEMPERATURE_UNIT = env.str("CLINIC_TEMPERATURE_UNIT", default="C")
if CLINIC_TEMPERATURE_UNIT not in {"C", "F"}:
    raise ImproperlyConfigured(
        f"CLINIC_TEMPERATURE_UNIT must be 'C' or 'F', not {CLINIC_TEMPERATURE_UNIT!r}."
    )
CLINIC_WEIGHT_UNIT = env.str("CLINIC_WEIGHT_UNIT", default="kg")
if CLINIC_WEIGHT_UNIT not in {"kg", "lb"}:
    raise ImproperlyConfigured(
        f"CLINIC_WEIGHT_UNIT must be 'kg' or 'lb', not {CLINIC_WEIGHT_UNIT!r}."
    )
# Times of day on every page: "24h" (14:30) or "12h" (2:30 PM) (clinic.kernel.dates).
CLINIC_TIME_FORMAT = env.str("CLINIC_TIME_FORMAT", default="24h")
if CLINIC_TIME_FORMAT not in {"24h", "12h"}:
    raise ImproperlyConfigured(
        f"CLINIC_TIME_FORMAT must be '24h' or '12h', not {CLINIC_TIME_FORMAT!r}."
    )
# Documents on the chart: where their files are kept ("filesystem": DOCUMENTS_ROOT,
# a folder no URL serves; or "s3") and the largest file accepted.
DOCUMENTS_STORAGE = env.str("DOCUMENTS_STORAGE", default="filesystem")
DOCUMENTS_ROOT = env.str("DOCUMENTS_ROOT", default=str(BASE_DIR / "var" / "documents"))
DOCUMENTS_MAX_BYTES = env.int("DOCUMENTS_MAX_BYTES", default=10 * 1024 * 1024)

# --- Applications -------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    "csp",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "django_q",
    # Serves the API docs' own Swagger files (no CDN).
    "ninja",
    "clinic",
    "doctors",
    "patients",
    "scheduling",
    "sessions_app",
    "online",
    "notifications",
    "payments",
    "records",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (hashed names, long cache) straight from the app, before the rest.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # One JSON log line per request, with its request id, user id and duration.
    "clinic.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the request: the chooser's cookie, else the browser's
    # Accept-Language; a signed-in user's own comes after authentication, below.
    "django.middleware.locale.LocaleMiddleware",
    # A person's requests move the idle session's end; background polls do not.
    "clinic.idle_sessions.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user read together with the session (clinic/sessions.py).
    "clinic.sessions.SessionUserMiddleware",
    # A signed-in staff user's language (their profile, kept in the session at login).
    "clinic.languages.StaffLanguageMiddleware",
    # Every page needs a login unless its view says otherwise (login_not_required).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers the requests of a locked-out login.
    "axes.middleware.AxesMiddleware",
]

# django-axes counts failed logins before Django's own backend checks a password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, taking the user read with the session (clinic/sessions.py).
    "clinic.sessions.SessionUserBackend",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic",
                "notifications.context_processors.inbox",
                "scheduling.context_processors.rebooking",
            ],
            # Times in the clinic's one format on every page: `|clock`, `|stamp`.
            "builtins": ["clinic.templatetags.clock"],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = (
    env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'var' / 'clinic.sqlite3'}"
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so a booking's overlap
    # check and its insert cannot interleave with another writer's; WAL lets
    # readers go on while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests run on a file, not in memory, so threads that race to book (and the
    # browser tests' live server) share one real database with real locking. Each
    # test run (process) has its own test database, so two runs at once never
    # share or destroy each other's.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-clinic-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    # Django's backend with a health check that needs no round trip (clinic/postgresql).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "clinic.postgresql"
    # Each process keeps its connection for this many seconds instead of opening one
    # per request (a new PostgreSQL backend costs milliseconds, and django-q2's ORM
    # broker closed the connection after every wake-up); checked before reuse, so a
    # restarted database costs nothing but a reconnect. 0 closes after each request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction; README,
    # "Deploy") a server connection is ours for one transaction only. Django's
    # .iterator() would keep a named cursor open across transactions, so it reads in
    # chunks instead, and the baked queries are not prepared (a prepared statement is
    # the session's; clinic/postgresql). Nothing else here needs the session: the
    # ORM's queries bind their parameters on the client, locks are row locks taken
    # inside transactions, and the time zone is a parameter PgBouncer carries over.
    DATABASE_TRANSACTION_POOLER = env.bool("DATABASE_TRANSACTION_POOLER", default=False)
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_TRANSACTION_POOLER
    DATABASES["default"]["PREPARED_STATEMENTS"] = not DATABASE_TRANSACTION_POOLER
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions --------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sessions end after this many seconds without a request from the person (the
# pages' background polls do not count): clinic.idle_sessions.IdleSessionMiddleware
# saves the session on the person's requests, at most once a minute.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
# In the database, with the user's id in a column: a request reads its session, user
# and permissions in one query (clinic/sessions.py).
SESSION_ENGINE = "clinic.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login protection ---------------------------------------------------------

# django-axes: after LOGIN_FAILURE_LIMIT failed sign-ins (no success between, none
# more than LOGIN_LOCKOUT_MINUTES after the one before) a username is locked, from
# the address they came from, for LOGIN_LOCKOUT_MINUTES; a further attempt during
# the lockout starts the wait again. Locking the pair rather than
# the name or the address alone means nobody can lock a colleague out from
# elsewhere, and the front desk's one shared address does not lock out the whole
# clinic. A manager unlocks early by deleting the attempt in the admin.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# In hours, as axes reads a float.
AXES_COOLOFF_TIME = env.int("LOGIN_LOCKOUT_MINUTES", default=15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Behind a reverse proxy every request comes from the proxy's address. Set this to
# the number of proxies in front of the app and the client's address is read from
# X-Forwarded-For instead; at 0 that header is ignored, as anyone can forge it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "clinic.kernel.http.client_ip"
# Cuts an over-long tried username before axes stores it (see the function).
AXES_USERNAME_CALLABLE = "clinic.auth_log.attempted_username"

# --- Production security --------------------------------------------------------

# Tests run with DEBUG off, as production does, but over plain HTTP (Django's test
# client, the browser tests' live server) and with no collected static files.
# pytest announces itself in PYTEST_VERSION for as long as a run lasts.
TESTING = "PYTEST_VERSION" in os.environ

# The defaults are production's: with DEBUG off and the hosts set, `manage.py check
# --deploy` has nothing to say. Development (DEBUG on) stays on plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
# A load balancer's health check comes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
# Behind the HTTPS proxy, gunicorn (deploy/gunicorn.conf.py) already marks a request
# that came in over HTTPS as such, believing X-Forwarded-Proto only from the proxies
# in FORWARDED_ALLOW_IPS. BEHIND_PROXY=true makes Django believe that header from
# anyone: only for a server that cannot check the proxy's address, behind a proxy
# that replaces whatever X-Forwarded-Proto the client sent.
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Browsers that have seen the site over HTTPS refuse plain HTTP for this long.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Consent to browsers' built-in HTTPS-only list; getting on it is a separate
# submission of the domain at hstspreload.org, hard to undo.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The public booking site (/book/) may be shown in a frame on these origins only
# (the clinic's own website: "https://www.example-clinic.org"); empty, nowhere. Its
# pages then send `frame-ancestors` with these origins and no X-Frame-Options (which
# cannot name origins); every other page still refuses any frame.
ONLINE_EMBED_ORIGINS = env.list("ONLINE_EMBED_ORIGINS", default=[])
if ONLINE_EMBED_ORIGINS and SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE:
    # Inside another site's frame the browser sends a cookie only when it is marked
    # SameSite=None: the booking steps keep their state in the session and their
    # forms' CSRF token in a cookie. The forms are still CSRF-checked (token and
    # Origin); only the browser's extra SameSite guard is given up, for embedding.
    # Browsers drop a SameSite=None cookie that is not Secure, so development over
    # plain HTTP (DEBUG) keeps Lax and cannot book inside a frame.
    SESSION_COOKIE_SAMESITE = "None"
    CSRF_COOKIE_SAMESITE = "None"

# --- Cache and rate limits ----------------------------------------------------------

# The cache holds the public pages' rate-limit counters (django-ratelimit). In
# memory by default, which counts per process: with several web processes (the
# deploy's gunicorn runs up to 8) a limit is that many times looser. Production
# points CACHE_URL at Redis (redis://127.0.0.1:6379/1), shared by every process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
RATELIMIT_USE_CACHE = "default"
# Off only for a load test of the booking site from one address (bench/).
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Requests a client address (clinic.kernel.http.client_ip) may make to the booking
# site's pages, and texted codes and code checks per address and per phone, as
# django-ratelimit's rates ("60/m": 60 a minute; s, m, h, d). Past one, the page
# answers 429 "Too many requests" until the period ends.
ONLINE_RATE_LIMITS = {
    "pages": env.str("ONLINE_RATE_PAGES", default="60/m"),
    # Generous per address: a family at home or a clinic's kiosk shares one.
    "codes_per_address": env.str("ONLINE_RATE_CODES_PER_ADDRESS", default="30/h"),
    "codes_per_phone": env.str("ONLINE_RATE_CODES_PER_PHONE", default="6/h"),
    "checks_per_address": env.str("ONLINE_RATE_CHECKS_PER_ADDRESS", default="60/h"),
    "checks_per_phone": env.str("ONLINE_RATE_CHECKS_PER_PHONE", default="20/h"),
}

# --- Content Security Policy ----------------------------------------------------

# django-csp sends it on every response. Pages load scripts, styles and images only
# from static/: no inline <script>, no on*= handler and no style= attribute in a
# template (tests/test_security.py scans them); htmx is told not to inject its own
# indicator style (base.html). A view that needs more says so with csp_update.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Bootstrap draws its icons (the menu button, select arrows) as data: SVGs.
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The patient's pay page posts here and is redirected on to Stripe Checkout;
        # browsers hold that redirect to form-action too.
        "form-action": ["'self'", "https://checkout.stripe.com"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = CLINIC_TIME_ZONE
# Translation is on: staff choose English, Spanish or Arabic (kept on their profile,
# clinic.models.StaffProfile) and patients read their texts and public pages in their
# own. The cost: Django looks up the active language on every URL reversal and
# number or date format (three lookups per reverse()), which a busy day view does
# hundreds of times (a few per cent of its server time, see bench/).
USE_I18N = True
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("ar", _("Arabic")),
]
# The catalogues: locale/<lang>/LC_MESSAGES/django.po, compiled to .mo by
# `make install` and .ci/run (README, "Languages").
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = CLINIC_PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# --- Static files and forms ---------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `collectstatic` puts the files for production.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# WhiteNoise serves the static files from the app. In production `collectstatic`
# copies them to STATIC_ROOT under names with a hash of their content (cached by
# browsers for a year, compressed) and a manifest that `{% static %}` reads.
# Development and tests have no collected files: they serve static/ as it is.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG and not TESTING)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Documents on the chart: a private store, never served at a URL of its own (only
    # through records' audited view). A folder by default; any S3-compatible store
    # with DOCUMENTS_STORAGE=s3 (needs the `s3` extra: django-storages and boto3).
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": DOCUMENTS_ROOT,
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
}
if DOCUMENTS_STORAGE == "s3":
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("DOCUMENTS_S3_BUCKET"),
            "endpoint_url": env.str("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DOCUMENTS_S3_REGION", default="") or None,
            "access_key": env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("DOCUMENTS_S3_PREFIX", default="documents"),
            # Private objects; a name is never reused, so nothing is overwritten.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif DOCUMENTS_STORAGE != "filesystem":
    raise ImproperlyConfigured(
        f"DOCUMENTS_STORAGE is {DOCUMENTS_STORAGE!r}: use 'filesystem' or 's3'."
    )
if not STATIC_MANIFEST:
    # Looked up in static/ (and the apps' static folders) when asked for.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Worker (django-q2) -------------------------------------------------------

# "orm" keeps the queue in the database; "redis" scales out to several hosts.
Q_BROKER = env.str("Q_BROKER", default="orm")
Q_CLUSTER = {
    "name": "clinic",
    "workers": env.int("Q_WORKERS", default=2),
    # A task may run twice (see DESIGN.md section 4); timeout stays below retry so
    # a slow task is never handed to a second worker while the first still runs it.
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=120),
    "catch_up": False,
    "max_attempts": 1,
    "ack_failures": True,
    # Seconds between the guard's rounds (it watches the workers). django-q2 runs the
    # schedules on the round by which 30 seconds of rounds have added up; the tests'
    # clusters set 30, so their first round, right after start, runs them.
    "guard_cycle": env.float("Q_GUARD_CYCLE", default=0.5),
}
if Q_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
elif Q_BROKER == "redis":
    Q_CLUSTER["redis"] = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
else:
    raise ImproperlyConfigured(f"Q_BROKER must be 'orm' or 'redis', not {Q_BROKER!r}.")

# --- API -------------------------------------------------------------------------

# How long the answer to an API write sent with an Idempotency-Key is kept for its
# retries (clinic/idempotency.py); Stripe keeps its keys as long.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# /api/v1/docs and /api/v1/openapi.json need a signed-in staff user or a token when
# DEBUG is off; a clinic that publishes its API's document sets this.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

# --- Notifications -------------------------------------------------------------

# The site's public address (https://clinic.example.com), used in links sent out
# and in the Twilio status callback; without it no status callback is asked for.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# Hours before a confirmed appointment at which the patient gets a reminder.
NOTIFICATIONS_REMINDER_HOURS = env.list("NOTIFICATIONS_REMINDER_HOURS", cast=int, default=[24, 2])
# No SMS to patients between these clinic-time hours (HH:MM-HH:MM, may wrap past
# midnight); what falls inside waits for the end. Empty turns quiet hours off.
NOTIFICATIONS_QUIET_HOURS = env.str("NOTIFICATIONS_QUIET_HOURS", default="21:00-08:00")
# A transient provider error is retried after 1, 2, 4, ... times this many seconds,
# up to NOTIFICATIONS_MAX_ATTEMPTS attempts in all.
NOTIFICATIONS_RETRY_SECONDS = env.int("NOTIFICATIONS_RETRY_SECONDS", default=60)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=5)
# A message left in "sending" this long (its worker died) is sent again.
NOTIFICATIONS_SENDING_TIMEOUT = env.int("NOTIFICATIONS_SENDING_TIMEOUT", default=300)
# The channels the doctor is told on when their patient arrives (in_app, email).
NOTIFICATIONS_ARRIVAL_CHANNELS = env.list("NOTIFICATIONS_ARRIVAL_CHANNELS", default=["in_app"])

# --- Providers (used by notifications and payments) ---------------------------

TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Only for tests and staging: where the twilio client sends API calls.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_TIMEOUT_SECONDS = env.int("TWILIO_TIMEOUT_SECONDS", default=10)

# Each channel is a class (see notifications/channels.py); adding a channel is a
# class and an entry here. With no Twilio credentials SMS goes to the console.
NOTIFICATION_CHANNELS = {
    "sms": env.str(
        "NOTIFICATIONS_SMS_CHANNEL",
        default="notifications.channels.TwilioSMS"
        if TWILIO_ACCOUNT_SID
        else "notifications.channels.ConsoleSMS",
    ),
    "in_app": "notifications.channels.InApp",
    "email": "notifications.channels.Email",
}
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# An SMTP server for the email channel, e.g. smtp+tls://user:password@smtp.example.org:587
# (sets EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, ... at once).
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Seconds an event's signature stays valid: older ones are refused as replays.
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# Only for tests and staging: where the stripe client sends API calls.
STRIPE_API_BASE_URL = env.str("STRIPE_API_BASE_URL", default="")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=10)

# --- Payments -------------------------------------------------------------------

# Each payment method is a class (see payments/methods.py); another method is a
# class and an entry here.
PAYMENT_METHODS = [
    "payments.methods.Cash",
    "payments.methods.CardTerminal",
    "payments.methods.StripeCheckout",
]
# An online payment still pending after this many minutes is checked with Stripe by
# the reconciliation task, in case its webhook was lost.
PAYMENTS_RECONCILE_AFTER_MINUTES = env.int("PAYMENTS_RECONCILE_AFTER_MINUTES", default=30)
# Stripe payments settled in the last this many days are checked with Stripe by the
# reconciliation for refunds and disputes made outside the clinic (its dashboard).
PAYMENTS_RECONCILE_PAID_DAYS = env.int("PAYMENTS_RECONCILE_PAID_DAYS", default=14)
# A Stripe event about a payment not known here yet (a refund processed before its
# checkout) waits: it is applied when the payment becomes known, and tried again by
# the reconciliation after this many minutes, then twice as long after each try (a
# day at most); ...
PAYMENTS_EVENT_RETRY_MINUTES = env.int("PAYMENTS_EVENT_RETRY_MINUTES", default=15)
# ... after this many tries it shows in admin as needing attention; ...
PAYMENTS_EVENT_ATTENTION_TRIES = env.int("PAYMENTS_EVENT_ATTENTION_TRIES", default=6)
# ... and still unknown this many days after it came, it is ignored as not ours
# (another site on the same Stripe account). A failed event is no longer retried then.
PAYMENTS_EVENT_GIVE_UP_DAYS = env.int("PAYMENTS_EVENT_GIVE_UP_DAYS", default=7)
# How long the link texted to a patient to pay online stays valid.
PAYMENTS_PAY_LINK_DAYS = env.int("PAYMENTS_PAY_LINK_DAYS", default=30)

# --- Retention ----------------------------------------------------------------

# `manage.py purge_old_notifications` deletes operational rows older than these
# (never clinical data, appointments, money or the access log). Outbox messages in a
# final status are kept this many days after their last change:
NOTIFICATIONS_RETENTION_DAYS = env.int("NOTIFICATIONS_RETENTION_DAYS", default=180)
# ... and inbound SMS, processed Stripe events and the worker's successful task
# results this many days (Twilio and Stripe stop retrying a webhook within days).
WEBHOOK_EVENTS_RETENTION_DAYS = env.int("WEBHOOK_EVENTS_RETENTION_DAYS", default=90)

# --- Health ---------------------------------------------------------------------

# /healthz answers 503 when the worker's heartbeat (written every minute) is older
# than this, or when a message due in the outbox has waited longer than the backlog age.
HEALTHZ_WORKER_MAX_AGE_MINUTES = env.int("HEALTHZ_WORKER_MAX_AGE_MINUTES", default=5)
HEALTHZ_BACKLOG_MAX_AGE_MINUTES = env.int("HEALTHZ_BACKLOG_MAX_AGE_MINUTES", default=10)

# --- Logging ------------------------------------------------------------------

# "json": one JSON object per line (timestamp, level, logger, message, request_id,
# user_id and the record's extra fields), for a log service; "plain" for reading.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every record logged in a request or a worker task gets its request_id and user_id.
    "filters": {"context": {"()": "clinic.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "clinic.logging.JsonFormatter",
            "fmt": "{levelname}{name}{message}",
            "style": "{",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[%(request_id)s user=%(user_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        },
        "null": {"class": "logging.NullHandler"},
    },
    "loggers": {
        # Django's records go to the console above only, not to its own handlers too.
        "django": {"handlers": [], "level": LOG_LEVEL},
        # Never SQL with its parameters (patient names), even when LOG_LEVEL is DEBUG.
        "django.db.backends": {"level": "INFO"},
        # runserver's access line repeats clinic.request's, query string (patient
        # names in searches) included.
        "django.server": {"handlers": ["null"], "propagate": False},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
