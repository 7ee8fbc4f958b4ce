#!/usr/bin/env bash
# Set up a local Modoboa 2.12.0 for the portal's integration tests: its own virtualenv (Modoboa pins Django
# 5.2, the portal runs Django 6), an instance on SQLite, a super administrator with a DRF API token, and
# connection.json for the tests. Non-interactive and idempotent: a second run checks a stamp and returns at
# once; a change to the pinned requirements or the settings overrides redoes only what it must.
#
#   bash scripts/modoboa/setup.sh && bash scripts/modoboa/start.sh     # then run the tests
#   bash scripts/modoboa/stop.sh
#
# Needs: a Python 3.10-3.13, and the rrdtool headers to build rrdtool-bindings (a Modoboa dependency); as
# root it installs Debian's librrd-dev (and pkg-config, gcc) when they are missing. No mail server, no Redis.
# Knobs (MODOBOA_HOME, MODOBOA_PORT, MODOBOA_PYTHON, MODOBOA_REDIS_URL): see common.sh.
set -euo pipefail
exec </dev/null
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive
STARTED=$(date +%s)
REDIS_URL="${MODOBOA_REDIS_URL:-redis://127.0.0.1:6379/13}"
MARK_BEGIN="# >>> portal test overrides, from settings_overrides.py >>>"
MARK_END="# <<< portal test overrides <<<"

stamp() {
    cat "$MODOBOA_SCRIPTS"/{setup.sh,common.sh,bootstrap.py,requirements.txt,settings_overrides.py} \
        | sha256sum | cut -d' ' -f1
}

mkdir -p "$MODOBOA_HOME/log"
if [[ -f "$MODOBOA_STAMP" && "$(cat "$MODOBOA_STAMP")" == "$(stamp)" && -x "$MODOBOA_VENV/bin/python" \
      && -f "$MODOBOA_CONNECTION" && -f "$MODOBOA_INSTANCE/.deployed" ]]; then
    if [[ -n "${MODOBOA_PORT:-}" && "$(modoboa_port)" != "$(MODOBOA_PORT='' modoboa_port)" ]]; then
        "$MODOBOA_VENV/bin/python" "$MODOBOA_SCRIPTS/bootstrap.py" set-port --connection "$MODOBOA_CONNECTION" \
            "$MODOBOA_PORT"
    fi
    say "Modoboa $MODOBOA_VERSION is already set up in $MODOBOA_HOME ($MODOBOA_CONNECTION)."
    exit 0
fi

# --- Python ---------------------------------------------------------------------------------------------------
python_ok() {  # a Python that Modoboa 2.12 supports and that can make virtualenvs
    "$1" -c 'import sys, venv, ensurepip; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null
}
find_python() {
    if [[ -n "${MODOBOA_PYTHON:-}" ]]; then
        python_ok "$MODOBOA_PYTHON" || die "MODOBOA_PYTHON=$MODOBOA_PYTHON is not a Python 3.10-3.13 with venv."
        echo "$MODOBOA_PYTHON"
        return
    fi
    local candidate pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for minor in 11 12 13 10; do  # 3.11 first: the version Modoboa 2.12.0 was validated with here
        for candidate in "$(command -v "python3.$minor" || true)" "$pyenv_root"/versions/3."$minor".*/bin/python3; do
            if [[ -n "$candidate" && -x "$candidate" ]] && python_ok "$candidate"; then
                echo "$candidate"
                return
            fi
        done
    done
    die "No Python 3.10-3.13 found (set MODOBOA_PYTHON, or install one, e.g. apt-get install python3.11-venv)."
}

# --- System packages: only what building rrdtool-bindings needs -----------------------------------------------
ensure_build_packages() {
    local missing=()
    [[ -f /usr/include/rrd.h ]] || missing+=(librrd-dev)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v gcc >/dev/null || missing+=(gcc libc6-dev)
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null \
        || die "Missing ${missing[*]} (needed to build rrdtool-bindings); install them, e.g. apt-get install ${missing[*]}"
    say "Installing Debian packages: ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

# --- Virtualenv with the pinned requirements --------------------------------------------------------------------
requirements_sha="$(sha256sum "$MODOBOA_SCRIPTS/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$MODOBOA_VENV/bin/python" ]] || ! python_ok "$MODOBOA_VENV/bin/python"; then
    python="$(find_python)"
    say "Creating the virtualenv $MODOBOA_VENV with $("$python" --version) ($python)"
    rm -rf "$MODOBOA_VENV"
    "$python" -m venv "$MODOBOA_VENV"
fi
if [[ "$(cat "$MODOBOA_VENV/.requirements-sha" 2>/dev/null || true)" != "$requirements_sha" ]]; then
    "$MODOBOA_VENV/bin/python" -c 'import rrdtool' 2>/dev/null || ensure_build_packages
    say "Installing modoboa==$MODOBOA_VERSION and its pinned requirements"
    "$MODOBOA_VENV/bin/python" -m pip install -q -r "$MODOBOA_SCRIPTS/requirements.txt" 2>&1 \
        | grep -v "^WARNING: Location .* is ignored" || true
    [[ "$("$MODOBOA_VENV/bin/python" -c 'import modoboa; print(modoboa.__version__)')" == "$MODOBOA_VERSION" ]] \
        || die "pip did not install modoboa $MODOBOA_VERSION (see the output above)."
    echo "$requirements_sha" >"$MODOBOA_VENV/.requirements-sha"
fi

# --- Instance ---------------------------------------------------------------------------------------------------
manage() { (cd "$MODOBOA_INSTANCE" && "$MODOBOA_VENV/bin/python" manage.py "$@"); }

if [[ ! -f "$MODOBOA_INSTANCE/.deployed" ]]; then
    [[ -z "$(modoboa_pid)" ]] || die "Modoboa is running from $MODOBOA_HOME; run stop.sh before setting it up again."
    say "Deploying the instance (SQLite: $MODOBOA_DB)"
    rm -rf "$MODOBOA_INSTANCE" "$MODOBOA_DB"
    # deploy runs migrate and load_initial_data itself but ignores their failures (without Redis the generated
    # cache settings make load_initial_data fail): both are run again below, where a failure stops the script.
    (cd "$MODOBOA_HOME" && "$MODOBOA_VENV/bin/modoboa-admin.py" deploy instance --domain localhost \
        --dburl "default:sqlite:///$MODOBOA_DB" --redisurl "$REDIS_URL" --dont-install-extensions)
    [[ -f "$MODOBOA_INSTANCE/manage.py" ]] || die "modoboa-admin.py deploy did not create $MODOBOA_INSTANCE"
fi

settings="$MODOBOA_INSTANCE/instance/settings.py"
sed -i "/^$MARK_BEGIN\$/,/^$MARK_END\$/d" "$settings"
{ echo "$MARK_BEGIN"; cat "$MODOBOA_SCRIPTS/settings_overrides.py"; echo "$MARK_END"; } >>"$settings"

say "Migrating and loading the initial data"
manage migrate --noinput >"$MODOBOA_HOME/log/migrate.log"
manage load_initial_data --admin-username admin --no-frontend
manage set_default_site localhost
touch "$MODOBOA_INSTANCE/.deployed"

"$MODOBOA_VENV/bin/python" "$MODOBOA_SCRIPTS/bootstrap.py" credentials --instance "$MODOBOA_INSTANCE" \
    --connection "$MODOBOA_CONNECTION" --port "$(modoboa_port)"
stamp >"$MODOBOA_STAMP"
if [[ -n "$(modoboa_pid)" ]]; then
    say "Modoboa is running with the settings it started with: run stop.sh and start.sh to apply these."
fi
say "Modoboa $MODOBOA_VERSION is set up in $MODOBOA_HOME in $(($(date +%s) - STARTED))s; connection: $MODOBOA_CONNECTION"
say "Start it with: bash $MODOBOA_SCRIPTS/start.sh"
