"""Settings for the portal, all read from the environment through django-environ.

Two modes, chosen by PORTAL_ENV:
- development (default): embedded defaults that need no server: a SQLite file, Celery over kombu's filesystem
  transport, e-mail to the console, secrets generated once and kept under var/.
- production: every secret must come from the environment; a missing one stops the start with a message that
  names the variable.
The README's configuration table lists every variable read here.
"""
import json
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A file of variables, read only when asked: the project's .env belongs to docker compose (PORTAL_ENV=production)
# and must not silently turn a developer's demo or test run into production.
if env.str("PORTAL_ENV_FILE", default=""):
    env.read_env(env.str("PORTAL_ENV_FILE"), overwrite=False)

PORTAL_ENV = env.str("PORTAL_ENV", default="development")
if PORTAL_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"PORTAL_ENV must be 'development' or 'production', not {PORTAL_ENV!r}.")
PRODUCTION = PORTAL_ENV == "production"

# Runtime files (SQLite database, the filesystem broker's queue, generated development secrets).
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _required_in_production(name, *, development_default):
    """The value of `name`; in production a missing variable stops the start and says which one."""
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"Production mode (PORTAL_ENV=production) needs the environment variable {name}. "
            f"See the configuration table in README.md."
        )
    return development_default() if callable(development_default) else development_default


def _development_secret(name, make):
    """A secret generated on first use and kept in var/dev-secrets.json, so sessions and encrypted
    fields survive a restart of the development server. Never used in production."""
    path = VAR_DIR / "dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = make()
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored[name]


SECRET_KEY = _required_in_production(
    "SECRET_KEY", development_default=lambda: _development_secret("SECRET_KEY", lambda: secrets.token_urlsafe(50))
)
# Fernet keys that encrypt provider credentials and service passwords at rest. Comma-separated: the first
# encrypts, all decrypt, so a key can be rotated (see docs/admin-guide.md).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEY",
    default=[]
    if PRODUCTION
    else [_development_secret("FIELD_ENCRYPTION_KEY", lambda: Fernet.generate_key().decode())],
)
if not FIELD_ENCRYPTION_KEYS:
    _required_in_production("FIELD_ENCRYPTION_KEY", development_default="")

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    _required_in_production("ALLOWED_HOSTS", development_default="")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The business time zone: every rule about days (due dates, "days overdue", the daily run hour) is reckoned
# here, never in the server's zone. Storage is UTC (USE_TZ).
BUSINESS_TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default="UTC")
TIME_ZONE = BUSINESS_TIME_ZONE
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")
INVOICE_NUMBER_FORMAT = env.str("INVOICE_NUMBER_FORMAT", default="INV-{year}-{seq:06d}")
# "sequential": invoices are numbered when issued; "proforma": unpaid invoices carry a proforma number
# (PROFORMA_NUMBER_FORMAT) and take the legal number when paid (docs/billing.md, "Invoice numbers").
INVOICE_NUMBERING = env.str("INVOICE_NUMBERING", default="sequential").strip().lower()
PROFORMA_NUMBER_FORMAT = env.str("PROFORMA_NUMBER_FORMAT", default="PF-{year}-{seq:06d}")
if INVOICE_NUMBERING not in ("sequential", "proforma"):
    raise ImproperlyConfigured(f"INVOICE_NUMBERING is 'sequential' or 'proforma', not {INVOICE_NUMBERING!r}.")
# The smallest and largest "add funds" deposit a client may make from the client area.
BILLING_ADD_FUNDS_MIN = env.str("BILLING_ADD_FUNDS_MIN", default="5.00")
BILLING_ADD_FUNDS_MAX = env.str("BILLING_ADD_FUNDS_MAX", default="10000.00")
PORTAL_NAME = env.str("PORTAL_NAME", default="Hosting Portal")
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# The seller's bank account, shown with each unpaid invoice's RF payment reference for paying by bank transfer
# (billing.payment_reference; docs/payments.md "Bank transfer"). The seller profile's account for an invoice's
# currency comes first (staff area, Billing → Seller profile); these are the fallback for currencies it has none
# for. No IBAN here and none there: invoices show no bank details.
BANK_ACCOUNT_NAME = env.str("BANK_ACCOUNT_NAME", default="")
BANK_IBAN = env.str("BANK_IBAN", default="").replace(" ", "").upper()
BANK_BIC = env.str("BANK_BIC", default="").replace(" ", "").upper()
BANK_NAME = env.str("BANK_NAME", default="")
if BANK_IBAN and not stdnum_iban.is_valid(BANK_IBAN):
    raise ImproperlyConfigured(f"BANK_IBAN {BANK_IBAN!r} is not a valid IBAN (check its digits and length).")
if BANK_BIC and not stdnum_bic.is_valid(BANK_BIC):
    raise ImproperlyConfigured(f"BANK_BIC {BANK_BIC!r} is not a valid BIC (8 or 11 letters and digits).")

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    # Two-factor sign-in (portal/two_factor.py): authenticator apps (TOTP) and one-time recovery codes. Before
    # portal, whose admin replaces their device pages with the audited reset (portal/admin_two_factor.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal.apps.PortalConfig",
    "billing",
    "provisioning",
    "voip",
    "whmcs_import",
    "payments",
    "storefront",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # SECURE_CSP below, on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed two-factor sign-in
    "portal.impersonation.ImpersonationMiddleware",  # request.impersonator: staff "log in as client"
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
                "portal.context_processors.portal",
            ],
        },
    },
]

# Database: DATABASE_URL, e.g. mysql://user:password@db:3306/portal; a SQLite file by default.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and a busy timeout let the web server and the Celery worker share the file
    # without "database is locked" errors; WAL lets readers go on while one writes.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a real Celery worker started by a test sees the test database.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
    )
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
_db["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis serves as Celery broker and as the cache when REDIS_URL is set.
REDIS_URL = env.str("REDIS_URL", default="")
if PRODUCTION and not (REDIS_URL or env.str("CELERY_BROKER_URL", default="")):
    _required_in_production("REDIS_URL", development_default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. Without a broker URL, kombu's filesystem transport: a real worker and beat with no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-queue"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),  # else kombu writes it into the working directory
        "store_processed": False,
    }
CELERY_TIMEZONE = BUSINESS_TIME_ZONE  # crontab entries of the beat schedule are read in the business zone
CELERY_ENABLE_UTC = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Queues per task (JSON), e.g. {"voip.tasks.*": {"queue": "voip"}}: CDR imports on workers of their own, so a big
# import never delays the periodic jobs (docs/scaling.md). Empty: every task on the default queue "celery".
CELERY_TASK_ROUTES = env.json("CELERY_TASK_ROUTES", default={})
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# E-mail: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587; the console by default.
# Django 6.1 configures mail through MAILERS; django-environ parses the URL into the older EMAIL_* names.
# Production sends invoices and notices, so it needs a real mail server: EMAIL_URL is required there.
# outbox:// (the demo's, set by run.py) keeps every e-mail in the staff area's Sent e-mails and delivers none;
# production refuses it, as it would send nothing and store password reset links.
_EMAIL_URL = _required_in_production("EMAIL_URL", development_default="consolemail://")
_OUTBOX = _EMAIL_URL.partition("://")[0] == "outbox"
if _OUTBOX and PRODUCTION:
    raise ImproperlyConfigured(
        "EMAIL_URL=outbox:// keeps e-mails in the staff area instead of sending them; production must deliver "
        "them: set EMAIL_URL to the mail server (e.g. smtp+tls://user:password@smtp.example.com:587)."
    )
_email = env.email_url_config(_EMAIL_URL, backend="portal.mail_outbox.OutboxEmailBackend" if _OUTBOX else None)
_mail_options = {}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": _email["EMAIL_HOST"],
        "port": _email["EMAIL_PORT"],
        "username": _email["EMAIL_HOST_USER"],
        "password": _email["EMAIL_HOST_PASSWORD"],
        "use_tls": bool(_email.get("EMAIL_USE_TLS")),
        "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
        "timeout": 20,
    }
elif _email["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    _mail_options = {"file_path": _email["EMAIL_FILE_PATH"]}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.lockout.AccountLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Django's hashers, plus the one that checks passwords imported from WHMCS (portal/hashers.py): never preferred, so
# an imported login is re-hashed with the first one on its first sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "portal.hashers.WhmcsBcryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "clientarea:login"
LOGIN_REDIRECT_URL = "clientarea:dashboard"
LOGOUT_REDIRECT_URL = "clientarea:login"

# Reverse proxies in front of the portal (the TLS proxy): the client address is then read from X-Forwarded-For,
# that many entries from the right (portal.network.client_ip, docs/security.md). 0: REMOTE_ADDR, header ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Login throttling (django-axes): five failures for one username from one address lock it for 15 minutes. The
# address is portal.network.client_ip's, as everywhere else (the API, the CDR push, the audit log).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
# Failed sign-ins of one username from all addresses together (within the cool-off) before it is refused everywhere
# (portal.lockout): the ceiling for a guesser who spreads attempts over many addresses.
LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=20)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/lockout.html"
AXES_CLIENT_IP_CALLABLE = "portal.network.client_ip"

# Two-factor sign-in (docs/two-factor.md). When required, staff without an authenticator app set one up before
# they can use the staff area; clients may always choose.
STAFF_TWO_FACTOR_REQUIRED = env.bool("STAFF_TWO_FACTOR_REQUIRED", default=False)
OTP_TOTP_ISSUER = PORTAL_NAME  # the account name authenticator apps show
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from here once collectstatic has run
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded CDR files wait here for the worker that imports them: on several machines, a shared filesystem
# (NFS, EFS…) mounted at the same path on web and worker hosts (docs/scaling.md).
VOIP_UPLOAD_DIR = Path(env.str("VOIP_UPLOAD_DIR", default=str(VAR_DIR / "voip-uploads")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Provisioning modules, as Django's e-mail backends: dotted paths, one class each. The in-memory fake is for
# development and tests and is never offered in production.
BUILT_IN_MODULES = [
    "provisioning.modules.smartermail.SmarterMailModule",
    "provisioning.modules.modoboa.ModoboaModule",
    "provisioning.modules.fusionpbx.FusionPbxModule",
    "provisioning.modules.vodia.VodiaModule",
    "provisioning.modules.lesnet.LesNetModule",
    "provisioning.modules.polarismail.PolarisMailModule",
]
# PROVISIONING_MODULES in the environment adds modules of your own to the built-in ones.
PROVISIONING_MODULES = BUILT_IN_MODULES + env.list("PROVISIONING_MODULES", default=[])
if not PRODUCTION:
    PROVISIONING_MODULES.append("provisioning.modules.fake.FakeModule")

# Online payment gateways (payments/gateways/<name>/), as the provisioning modules: dotted paths, one class each.
# Each is enabled and given its credentials in the staff area (Payments → Gateway settings).
PAYMENT_GATEWAYS = ["payments.gateways.stripe.StripeGateway", "payments.gateways.paypal.PayPalGateway"] + env.list("PAYMENT_GATEWAYS", default=[])
# Where the stripe library sends its API calls when the gateway's settings do not say: Stripe itself in
# production, the Stripe simulator (`manage.py run_simulator stripe`) in the demo and tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# Simulators of the floors above provisioning, for `manage.py run_simulator` (provisioning's own are built in).
# PayPal's API base when the gateway's settings do not say: empty follows the gateway's Test mode (PayPal's
# sandbox, or live); the PayPal simulator (`manage.py run_simulator paypal`) in the demo and tests.
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="")
EXTRA_SIMULATORS = {"stripe": "payments.gateways.stripe.simulator.StripeSimulator",
                    "paypal": "payments.gateways.paypal.simulator.PayPalSimulator"}
# How old a signed webhook may be (seconds) before it is refused as stale or replayed.
PAYMENT_WEBHOOK_TOLERANCE = env.int("PAYMENT_WEBHOOK_TOLERANCE", default=300)
# How many calls a second the portal sends to one payment gateway (payments/ratelimit.py: the automatic charges
# and the reconciliation lookups wait for their slot). Stripe allows 100 a second per account in live mode and 25
# in test mode; the defaults leave a tenth of that for the checkouts, refunds and lookups of the same account.
PAYMENT_RATE_LIMIT = env.float("PAYMENT_RATE_LIMIT", default=90)
PAYMENT_RATE_LIMIT_TEST = env.float("PAYMENT_RATE_LIMIT_TEST", default=22)
# The limits above for all worker processes and machines together (a count per second in Redis), not for each
# process: on by default wherever Redis is the cache (docs/scaling.md).
PAYMENT_RATE_LIMIT_SHARED = env.bool("PAYMENT_RATE_LIMIT_SHARED", default=bool(REDIS_URL))
# How many automatic card charges the periodic run has in flight at once (payments.services.charge_due_invoices;
# the calls hold no database connection). Enough to keep to the rate limit while each call takes up to about
# 350 ms (90/s × 0.35 s ≈ 32); if the gateway's calls take longer, raise it to the limit × seconds per call. More
# threads than needed start calls in clumps (they wait for the same cores): docs/benchmarks.md.
PAYMENT_CHARGE_THREADS = env.int("PAYMENT_CHARGE_THREADS", default=32)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy on every page (docs/security.md, *Headers*): scripts, styles, fonts and images only from
# the portal's own static files — no inline <script>, <style>, style="" or onclick, which the templates keep to
# (tests/portal/test_security_headers.py) — nothing framed or framing, no plugins. Bootstrap draws some icons as
# data: images. Forms are not limited (form-action): SSO and payment forms end in redirects to the providers.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    # TLS ends at the reverse proxy in front of gunicorn, which says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The APIs (api/, docs/api.md): staff API keys, per-key rate limits (calls per minute), the REST framework.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_AUTH_FAILURE_LIMIT = env.int("API_AUTH_FAILURE_LIMIT", default=20)
# Vodia CDR pushes (docs/voip-providers.md §5.2): per source and minute unless the source sets its own; body cap.
VOIP_PUSH_RATE_LIMIT = env.int("VOIP_PUSH_RATE_LIMIT", default=1200)
VOIP_PUSH_MAX_BYTES = env.int("VOIP_PUSH_MAX_BYTES", default=2 * 1024 * 1024)
# A running CDR import without progress for this long has lost its worker: the sweeper (voip.jobs, every ten
# minutes) marks it failed and charges what it stored. An import writes progress every 2,000 lines, a push at once.
VOIP_IMPORT_STALE_MINUTES = env.int("VOIP_IMPORT_STALE_MINUTES", default=30)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.rest.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.rest.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.rest.auth.ApiKeyThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.rest.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend", "rest_framework.filters.OrderingFilter"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.rest.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portal REST API",
    "DESCRIPTION": "Clients, products, services (with lifecycle actions), invoices, payments, credit and the "
                   "activity log. Authenticate with `Authorization: Bearer <identifier>.<secret>` (an API key "
                   "made in the staff area).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BillingCycleEnum": "billing.models.BillingCycle",
        "CancellationTypeEnum": "billing.models.Service.CancellationType",
        "ProductTypeEnum": "billing.models.Product.Type",
        "InvoiceItemKindEnum": "billing.models.InvoiceItem.Kind",
        "InvoiceKindEnum": "billing.models.Invoice.Kind",
    },
}

# Tax (docs/tax.md). The seller's country decides EU reverse charge (a B2B sale to a valid VAT number of another EU
# country); until the seller profile holds it, this setting does. Prices entered tax-inclusive or exclusive, and
# whether tax is rounded once per invoice (per rate) or on each line.
TAX_SELLER_COUNTRY = env.str("TAX_SELLER_COUNTRY", default="").upper()
TAX_PRICES_INCLUDE_TAX = env.bool("TAX_PRICES_INCLUDE_TAX", default=False)
TAX_ROUNDING = env.str("TAX_ROUNDING", default="invoice")
if TAX_ROUNDING not in ("invoice", "line"):
    raise ImproperlyConfigured(f"TAX_ROUNDING {TAX_ROUNDING!r}: use 'invoice' (once per rate on the total) or 'line'.")
CREDIT_NOTE_NUMBER_FORMAT = env.str("CREDIT_NOTE_NUMBER_FORMAT", default="CN-{year}-{seq:06d}")
# The EU's VIES check of VAT numbers (portal/vat.py). Off: numbers are checked for format and check digits only.
VIES_ENABLED = env.bool("VIES_ENABLED", default=False)
VIES_URL = env.str("VIES_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api")
VIES_TIMEOUT = env.float("VIES_TIMEOUT", default=8)
