"""Settings, read from the environment in one place.

Production needs SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL; everything else
has a safe default. DEBUG defaults to off.
"""

from datetime import timedelta
from pathlib import Path

import environ

from epr.database import as_role, database_roles

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else "dev-only-insecure-key")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "guardian",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "epr.accounts",
    "epr.audit",
    "epr.fhir",
    "epr.terminology",
    "records",
    "scheduling",
    "prescribing",
    "orders",
    "mentalhealth",
]

MIDDLEWARE = [
    # Outermost: CSP, Permissions-Policy and no-store on whatever response any layer below produced.
    "epr.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every error under /fhir is an OperationOutcome, including those raised in the middleware below.
    "epr.fhir.middleware.FHIRErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "epr.middleware.RefuseNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "epr.accounts.middleware.AdminSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "epr.accounts.middleware.AbsoluteSessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "epr.middleware.FriendlyNotFoundMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "epr.audit.middleware.AuditContextMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "epr.urls"
WSGI_APPLICATION = "epr.wsgi.application"

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
                "epr.accounts.context_processors.staff",
                "epr.navigation.menu",
            ],
        },
    },
]

# The app connects as the runtime role; `manage.py migrate` as the owner (epr/database.py). Tests and
# benchmarks, which create, truncate and drop databases, set EPR_DATABASE_AS_OWNER.
EPR_DATABASE_RUNTIME, EPR_DATABASE_OWNER = database_roles(env, BASE_DIR)
DATABASES = {
    "default": as_role(EPR_DATABASE_RUNTIME, EPR_DATABASE_OWNER)
    if EPR_DATABASE_OWNER and env.bool("EPR_DATABASE_AS_OWNER", default=False)
    else dict(EPR_DATABASE_RUNTIME)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after 30 minutes without a request (a ward tablet left unattended).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# However busy, a session ends this long after its login (a ward shift); then log in again.
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Lock a username after repeated failures from any addresses, and separately an address that fails
# for many usernames (a spray); the address is the client the trusted proxies saw.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT = env.int("EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "epr.accounts.lockout.UsernameOrAddressLockoutHandler"
AXES_CLIENT_IP_CALLABLE = "epr.audit.middleware.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", BASE_DIR / ".build" / "static"]
# nhsuk-frontend's CSS refers to its images at /assets/; they are served from the site root.
WHITENOISE_ROOT = BASE_DIR / ".build" / "webroot"
# Generated files holding patient data (subject-access exports). Never served: MEDIA_URL is not
# routed; files are downloaded only through views that check permission and audit.
MEDIA_ROOT = Path(env.str("EPR_DATA_DIR", default=str(BASE_DIR / ".data"))) / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Check every outgoing FHIR resource against the fhir.resources models (the tests turn this on).
EPR_FHIR_VALIDATE_RESPONSES = env.bool("EPR_FHIR_VALIDATE_RESPONSES", default=False)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        # Session authentication that refuses a session still owing its second factor.
        "epr.accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "epr.fhir.errors.fhir_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI 3 schema of the JSON APIs (/api/schema/, browsable at /api/docs/), for signed-in staff
# and API clients. The FHIR API is described by its own CapabilityStatement (/fhir/metadata) instead.
SPECTACULAR_SETTINGS = {
    "TITLE": "EPR JSON APIs",
    "DESCRIPTION": "The EPR's JSON APIs other than FHIR (see /fhir/metadata for the FHIR R4 API).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's files come from the drf-spectacular-sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Every query of one FHIR API call stops after this long (a costly search must not hold the database).
FHIR_STATEMENT_TIMEOUT_MS = env.int("FHIR_STATEMENT_TIMEOUT_MS", default=5000)

# A worker trusts a bearer token's row it has read for this long: a token revoked in another worker
# stops working within this time (epr/accounts/tokens.py). 0 reads the row on every request.
EPR_TOKEN_CACHE_SECONDS = env.int("EPR_TOKEN_CACHE_SECONDS", default=10)
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "epr.accounts.tokens.CachingOAuth2Validator",
    # The scopes are built from the registered FHIR resource types (epr.fhir.registry.fhir_scopes).
    "DEFAULT_SCOPES": [],
    "SCOPES_BACKEND_CLASS": "epr.accounts.scopes.ApiClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    # OAuth 2.0 Security BCP (RFC 9700) throughout: no implicit or password grants, hashed tokens.
    **{
        f"COMPLIANT_BCP_RFC9700_{name}": True
        for name in (
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "TOKEN_STORAGE",
            "REFRESH_TOKEN",
            "REDIRECT_URI_SCHEME",
            "REDIRECT_URI_MATCHING",
            "PKCE_REQUIRED",
        )
    },
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# Celery: Redis when CELERY_BROKER_URL names it; otherwise a broker on disk that needs no server.
_broker_dir = Path(env.str("EPR_DATA_DIR", default=str(BASE_DIR / ".data"))) / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(_broker_dir / "beat-schedule")

# How many proxies (load balancers) in front of the app append to X-Forwarded-For; 0 = trust none.
EPR_TRUSTED_PROXY_COUNT = env.int("EPR_TRUSTED_PROXY_COUNT", default=0)

# Reasons for amendments can be long; keep them whole in every history row.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# How long a care relationship's access outlasts a discharge or transfer (handover, letters).
EPR_CARE_GRACE_PERIOD = timedelta(hours=env.int("EPR_CARE_GRACE_HOURS", default=24))
# How long break-glass access lasts.
EPR_BREAK_GLASS_DURATION = timedelta(hours=env.int("EPR_BREAK_GLASS_HOURS", default=4))
# Where decision-support alerts are also emailed (a ward or outreach team mailbox); empty = in-app only.
EPR_ALERT_EMAIL = env.str("EPR_ALERT_EMAIL", default="")
# The team an alert goes to when the patient has no ward and no treating team (e.g. a feed's observations
# for a patient not admitted): a site coordinator or critical care outreach team, by its name.
EPR_ALERT_FALLBACK_TEAM = env.str("EPR_ALERT_FALLBACK_TEAM", default="Critical care outreach")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
# The organisation's ODS code, used in hospital numbers and FHIR identifiers.
EPR_ORGANISATION_ODS = env.str("EPR_ORGANISATION_ODS", default="RXX")
EPR_HOSPITAL_NUMBER_SYSTEM = f"https://fhir.{EPR_ORGANISATION_ODS.lower()}.nhs.uk/Id/hospital-number"
EPR_ORDER_NUMBER_SYSTEM = f"https://fhir.{EPR_ORGANISATION_ODS.lower()}.nhs.uk/Id/placer-number"

# Orders out (docs/orders.md): a folder the department interface engine reads, or MLLP to host:port.
EPR_ORDERS_OUTBOX = env.str("EPR_ORDERS_OUTBOX", default=str(BASE_DIR / ".data" / "outbox"))
EPR_ORDERS_MLLP = env.str("EPR_ORDERS_MLLP", default="")
# Signed discharge summaries and letters out (docs/scheduling.md): gp/<ODS code>/ and patients-print/.
EPR_DOCUMENTS_OUTBOX = env.str("EPR_DOCUMENTS_OUTBOX", default=str(BASE_DIR / ".data" / "documents-outbox"))
EPR_ORDERS_MLLP_TIMEOUT = env.float("EPR_ORDERS_MLLP_TIMEOUT", default=10.0)

# Log no patient data: only framework messages at WARNING and above, no request bodies.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
