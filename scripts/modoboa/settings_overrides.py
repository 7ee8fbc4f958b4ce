# Appended to the generated instance/settings.py by scripts/modoboa/setup.sh: the portal's local and CI test
# instance of Modoboa (API only, loopback, SQLite, no mail server).
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
DEBUG = False
# One gunicorn process: a local-memory cache is enough and needs no Redis (the generated settings use Redis).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# CI machines have no syslog socket (/dev/log): log to stderr, which gunicorn writes to its log file.
for _name in ("syslog-auth", "syslog-mail", "syslog"):
    LOGGING["handlers"][_name] = {"class": "logging.StreamHandler"}
LOGGING["loggers"]["django"]["handlers"] = ["syslog"]
# SQLite behind a threaded server: wait for a lock instead of failing, and take the write lock up front.
DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
# A test run makes a few hundred calls a minute with one token: raise the per-user rate (300/minute by
# default) but keep Modoboa's 5 writes per second per view, so the client's 429 handling meets real throttling.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] = "6000/minute"
