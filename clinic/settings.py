"""Settings for Clinic, read from the environment (and a `.env` file) by django-environ.

One settings module for every environment: development, tests and production
differ only in their environment variables. `.env.example` documents each one.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE lets a test (or an operator) point at another file; variables already in
# the environment always win over the file.
env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
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

# --- Applications -------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
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
    "notifications",
    "payments",
    "records",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says otherwise (login_not_required).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions --------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sessions end after this many seconds without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
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

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = CLINIC_TIME_ZONE
USE_I18N = True
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = CLINIC_PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# --- Static files and forms ---------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

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
}
if Q_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
elif Q_BROKER == "redis":
    Q_CLUSTER["redis"] = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
else:
    raise ImproperlyConfigured(f"Q_BROKER must be 'orm' or 'redis', not {Q_BROKER!r}.")

# --- Notifications -------------------------------------------------------------

# The site's public address (https://clinic.example.com), used in links sent out
# and in the Twilio status callback; without it no status callback is asked for.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# The clinic's own phone number, given in messages that invite a call.
CLINIC_PHONE = env.str("CLINIC_PHONE", default="")
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
# The channels the doctor is told on when their patient arrives (in_app, email, sms).
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
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Seconds an event's signature stays valid: older ones are refused as replays.
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# Only for tests and staging: where the stripe client sends API calls.
STRIPE_API_BASE_URL = env.str("STRIPE_API_BASE_URL", default="")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

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
# How long the link texted to a patient to pay online stays valid.
PAYMENTS_PAY_LINK_DAYS = env.int("PAYMENTS_PAY_LINK_DAYS", default=30)

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
