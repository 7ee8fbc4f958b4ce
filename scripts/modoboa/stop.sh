#!/usr/bin/env bash
# Stop the local Modoboa started by start.sh (only the gunicorn whose pid is in MODOBOA_HOME/gunicorn.pid).
set -euo pipefail
exec </dev/null
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pid="$(modoboa_pid)"
if [[ -z "$pid" ]]; then
    rm -f "$MODOBOA_PIDFILE"
    say "Modoboa is not running."
    exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    say "gunicorn (pid $pid) did not stop within 10s; killing it."
    kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$MODOBOA_PIDFILE"
say "Modoboa stopped (pid $pid)."
