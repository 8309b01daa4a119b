"""Settings, all from the environment (see .env.example), with embedded defaults when unset."""
import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; unset, a random key made once and kept in DATA_DIR."""
    if env_str("SECRET_KEY"):
        return env_str("SECRET_KEY")
    path = DATA_DIR / "secret_key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    import secrets

    key = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "webapp.staticfiles.StaticFilesConfig",
    "axes",
    "webapp.core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webapp.core.uploads.DeclaredSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webapp.core.auth.TokenAuthMiddleware",
    "webapp.core.headers.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out sign-in with the lockout page
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the test database is a file so that a
    # worker process can open it too.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 30,
                                       "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username, or
# from one address, sign-in is refused for LOGIN_LOCKOUT_MINUTES; the lock ends by itself.
# The lockout check first (it refuses a locked-out sign-in and authenticates no one), then Django's own.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "webapp.core.auth.locked_out"
AXES_VERBOSE = False
# Wrong API tokens are counted per address in the cache: past the limit, 429 until the window ends.
TOKEN_FAILURE_LIMIT = env_int("TOKEN_FAILURE_LIMIT", 20)
TOKEN_LOCKOUT_SECS = env_int("TOKEN_LOCKOUT_SECS", 900)
# The cache is shared by every web process when Redis is there (counts and locks hold across them):
# CACHE_URL, or the broker's Redis server with its own database number, so the two never mix.
def _cache_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    explicit = os.environ.get("CACHE_URL", "").strip()
    broker = urlsplit(os.environ.get("CELERY_BROKER_URL", "").strip())
    if explicit or not broker.scheme.startswith("redis"):
        return explicit
    db = int(broker.path.strip("/") or 0)
    return urlunsplit(broker._replace(path=f"/{db + 1}"))


CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url()}
          if _cache_url() else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Data older than this many days may be deleted by `manage.py delete_old_data` (0: kept for ever).
RETENTION_DAYS = env_int("RETENTION_DAYS", 0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# plotly.js ships inside the pinned plotly package; it is served from here (no CDN, works offline).
PLOTLY_JS_DIR = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", PLOTLY_JS_DIR)]
# Where `manage.py collectstatic` puts the files WhiteNoise serves. Without DEBUG they get hashed
# names (cached for a year by browsers) and gzip and brotli copies (see webapp/staticfiles.py):
# `manage.py serve`, the Docker image and the test suite collect them; run collectstatic yourself
# before starting gunicorn by hand. With DEBUG they are served as they are, from the source folders.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
for folder in (DATA_DIR, STATIC_ROOT):  # DATA_DIR holds the SQLite database
    folder.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_KEEP_ONLY_HASHED_FILES = not DEBUG
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": env_str("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "webapp.staticfiles.HashedCompressedStorage"},
}

# Upload and import limits.
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 100)
# A file to score with more rows than this is scored in the background, in chunks, with progress.
BATCH_SCORING_ROWS = env_int("BATCH_SCORING_ROWS", 50_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
URL_IMPORT_TIMEOUT = env_int("URL_IMPORT_TIMEOUT", 20)
URL_IMPORT_ALLOW_PRIVATE = env_bool("URL_IMPORT_ALLOW_PRIVATE", False)
# Networks (CIDR) a link may point to even though they are private, e.g. an internal data server.
URL_IMPORT_ALLOWED_NETWORKS = env_list("URL_IMPORT_ALLOWED_NETWORKS")
MAX_ROWS = env_int("MAX_ROWS", 2_000_000)
MAX_COLUMNS = env_int("MAX_COLUMNS", 2000)

# Experiments: defaults and limits.
DEFAULT_MAX_RUNTIME_SECS = env_int("DEFAULT_MAX_RUNTIME_SECS", 60)
MAX_RUNTIME_SECS_LIMIT = env_int("MAX_RUNTIME_SECS_LIMIT", 3600)
EXPERIMENT_STALE_SECS = env_int("EXPERIMENT_STALE_SECS", 300)

# Running experiments per user at once (more wait in the queue, so one user cannot hold every
# worker), and experiments a user may have waiting or running.
MAX_RUNNING_PER_USER = env_int("MAX_RUNNING_PER_USER", 2)
MAX_ACTIVE_PER_USER = env_int("MAX_ACTIVE_PER_USER", 20)
# How soon a waiting experiment is offered to the workers again when its owner is at the limit.
DEFER_SECS = env_int("DEFER_SECS", 10)
# A running experiment touches heartbeat_at every HEARTBEAT_SECS; one silent for
# EXPERIMENT_STALE_SECS is taken for dead (its worker was killed) and marked failed, keeping the
# models it finished. Workers look for such runs, and for experiments the queue never received,
# every RECOVERY_SECS.
HEARTBEAT_SECS = env_int("HEARTBEAT_SECS", 10)
# A run with no engine event for WATCHDOG_FACTOR times its budget (or its expected seconds per model,
# for a budget in models), and at least WATCHDOG_MIN_SECS, is taken to hang and marked failed.
WATCHDOG_FACTOR = env_int("WATCHDOG_FACTOR", 3)
WATCHDOG_MIN_SECS = env_int("WATCHDOG_MIN_SECS", 600)
RECOVERY_SECS = env_int("RECOVERY_SECS", 60)
# An experiment still waiting this long after it was sent is sent again (the claim makes the
# second delivery harmless), in case its message was lost.
QUEUED_RESEND_SECS = env_int("QUEUED_RESEND_SECS", 1800)
# Seconds the worker keeps retrying a database write during a run before giving up on the run.
DB_RETRY_SECS = env_int("DB_RETRY_SECS", 60)

# Security headers always; with HTTPS=true (production behind TLS) also secure cookies, a redirect
# to https and HSTS. TRUST_X_FORWARDED_PROTO=true when a proxy in front terminates TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = env_bool("HTTPS", env_bool("SECURE_COOKIES", False)) and not DEBUG
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Uploads are counted while they stream in and stopped at MAX_UPLOAD_MB (see core/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "webapp.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
