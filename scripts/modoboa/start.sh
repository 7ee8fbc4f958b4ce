#!/usr/bin/env bash
# Start the local Modoboa (set up by setup.sh) on 127.0.0.1:<port> with gunicorn in the background, and wait
# until its API answers the token in connection.json. Does nothing when it is already running and answering.
# The port is MODOBOA_PORT, else the one in connection.json (8899 by default); the pid goes to gunicorn.pid
# and the log to log/gunicorn.log under MODOBOA_HOME. Stop it with stop.sh.
set -euo pipefail
exec </dev/null
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ -f "$MODOBOA_CONNECTION" && -f "$MODOBOA_INSTANCE/.deployed" ]] \
    || die "Modoboa is not set up in $MODOBOA_HOME: run bash $MODOBOA_SCRIPTS/setup.sh first."
PORT="$(modoboa_port)"
wait_for_api() { "$MODOBOA_VENV/bin/python" "$MODOBOA_SCRIPTS/bootstrap.py" wait --connection "$MODOBOA_CONNECTION" "$1"; }

pid="$(modoboa_pid)"
if [[ -n "$pid" ]]; then
    if [[ "$(MODOBOA_PORT='' modoboa_port)" == "$PORT" ]] && wait_for_api 10; then
        say "Modoboa is already running (pid $pid) at http://127.0.0.1:$PORT"
        exit 0
    fi
    die "Modoboa is running (pid $pid) but not answering on port $PORT: run stop.sh, then start.sh again."
fi
rm -f "$MODOBOA_PIDFILE"

"$MODOBOA_VENV/bin/python" - "$PORT" <<'PY' || die "Port $PORT on 127.0.0.1 is taken by another program (set MODOBOA_PORT)."
import socket, sys
with socket.socket() as s:
    sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)
PY
"$MODOBOA_VENV/bin/python" "$MODOBOA_SCRIPTS/bootstrap.py" set-port --connection "$MODOBOA_CONNECTION" "$PORT"

mkdir -p "$(dirname "$MODOBOA_LOG")"
# One process (the local-memory cache, throttling counters included, must be shared), a few threads.
"$MODOBOA_VENV/bin/gunicorn" instance.wsgi:application --chdir "$MODOBOA_INSTANCE" \
    --bind "127.0.0.1:$PORT" --workers 1 --threads 8 --timeout 60 --no-control-socket \
    --daemon --pid "$MODOBOA_PIDFILE" --error-logfile "$MODOBOA_LOG" --capture-output
if ! wait_for_api 60; then
    tail -n 30 "$MODOBOA_LOG" >&2 || true
    die "Modoboa did not start (log: $MODOBOA_LOG)."
fi
say "Modoboa $MODOBOA_VERSION is running (pid $(modoboa_pid)) at http://127.0.0.1:$PORT; log: $MODOBOA_LOG"
