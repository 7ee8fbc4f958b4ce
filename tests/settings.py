"""Test settings: the real settings (so DATABASE_URL picks SQLite or MariaDB) with fast, local side effects."""
from config.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True  # tasks run in-process; tests/portal/test_celery_worker.py uses a real worker
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "portal.hashers.WhmcsBcryptPasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
