# syntax=docker/dockerfile:1
# The portal's production image: gunicorn serving config.wsgi on :8000 (static files by whitenoise), and the same
# image runs the Celery worker and beat (see docker-compose.yml). Configuration comes only from the environment
# (PORTAL_ENV=production refuses to start without SECRET_KEY, FIELD_ENCRYPTION_KEY, ALLOWED_HOSTS, REDIS_URL,
# EMAIL_URL; DATABASE_URL=mysql://…). Migrations are not run at start: docker-compose.yml runs them once in its
# `migrate` service (or run `python manage.py migrate --no-input` in a container of this image yourself).

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# --- build: compile mysqlclient against the MariaDB client headers, into a venv copied to the final image ---
FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt requirements-mysql.txt /tmp/requirements/
RUN pip install -r /tmp/requirements/requirements-mysql.txt

# --- runtime: only the shared client library, no compiler ---
FROM base AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal

COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    PORTAL_ENV=production \
    PORTAL_VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

WORKDIR /app
# The code stays owned by root: the portal user can read it, not change it.
COPY . /app

# Static files, collected at build time so every container serves the same hashed names from the manifest
# (production uses whitenoise's CompressedManifestStaticFilesStorage). Production settings need their secrets
# even for collectstatic, so this step gets throw-away values that exist only inside this RUN.
RUN PORTAL_VAR_DIR=/tmp/build-var \
       SECRET_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
       FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
       ALLOWED_HOSTS=build.invalid \
       REDIS_URL=redis://build.invalid:6379/0 \
       EMAIL_URL=consolemail:// \
       python manage.py collectstatic --no-input -v 1 \
    && test -f /app/staticfiles/staticfiles.json \
    && rm -rf /tmp/build-var \
    && python -m compileall -q /app/portal /app/billing /app/provisioning /app/voip \
    && mkdir -p /data \
    && chown portal:portal /data

USER portal
# Runtime files (the beat schedule); docker-compose.yml mounts a volume here for beat.
VOLUME ["/data"]
EXPOSE 8000

# /healthz answers 200 when the process is up and the database reachable. Django checks the Host header, so
# the probe presents the first ALLOWED_HOSTS entry (a leading dot or a "*" made into a concrete name).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.').replace('*', 'localhost') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

# WEB_CONCURRENCY (read by gunicorn) sets the number of worker processes; FORWARDED_ALLOW_IPS the proxies
# whose X-Forwarded-* headers gunicorn trusts.
CMD ["gunicorn", "config.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
