# Shared by setup.sh, start.sh and stop.sh (sourced, not run). Paths and knobs, all overridable:
#   MODOBOA_HOME    where the virtualenv, the instance, its SQLite database, logs and connection.json live
#                   (default <repo>/var/modoboa, which git ignores)
#   MODOBOA_PORT    loopback port Modoboa listens on (default: the port in connection.json, else 8899)
#   MODOBOA_PYTHON  interpreter for the virtualenv (default: the first Python 3.11/3.12/3.13/3.10 found)
#   MODOBOA_REDIS_URL  Redis for Modoboa's RQ queues (default redis://127.0.0.1:6379/13; the API calls the
#                   portal makes do not need Redis at all)

MODOBOA_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODOBOA_REPO="$(cd "$MODOBOA_SCRIPTS/../.." && pwd)"
MODOBOA_HOME="$(realpath -m "${MODOBOA_HOME:-$MODOBOA_REPO/var/modoboa}")"
MODOBOA_VERSION="2.12.0"
MODOBOA_VENV="$MODOBOA_HOME/venv"
MODOBOA_INSTANCE="$MODOBOA_HOME/instance"
MODOBOA_DB="$MODOBOA_HOME/modoboa.db"
MODOBOA_CONNECTION="$MODOBOA_HOME/connection.json"
MODOBOA_PIDFILE="$MODOBOA_HOME/gunicorn.pid"
MODOBOA_LOG="$MODOBOA_HOME/log/gunicorn.log"
MODOBOA_STAMP="$MODOBOA_HOME/.setup-stamp"
MODOBOA_DEFAULT_PORT=8899
# The instance's manage.py and gunicorn must use its own settings, whatever the caller exported: Modoboa's
# generated settings read DATABASE_URL and friends, and the portal's CI exports its own (MariaDB) ones.
unset DJANGO_SETTINGS_MODULE DATABASE_URL REDIS_URL CELERY_BROKER_URL CACHE_URL EMAIL_URL SECRET_KEY PORTAL_ENV

say() { printf '[modoboa] %s\n' "$*"; }
die() { printf '[modoboa] ERROR: %s\n' "$*" >&2; exit 1; }

# The port: MODOBOA_PORT, else the one recorded in connection.json, else the default.
modoboa_port() {
    if [[ -n "${MODOBOA_PORT:-}" ]]; then
        echo "$MODOBOA_PORT"
    elif [[ -f "$MODOBOA_CONNECTION" ]]; then
        "$MODOBOA_VENV/bin/python" "$MODOBOA_SCRIPTS/bootstrap.py" port --connection "$MODOBOA_CONNECTION"
    else
        echo "$MODOBOA_DEFAULT_PORT"
    fi
}

# The pid in the pidfile when that process is alive, else nothing.
modoboa_pid() {
    local pid
    [[ -f "$MODOBOA_PIDFILE" ]] || return 0
    pid="$(cat "$MODOBOA_PIDFILE" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}
