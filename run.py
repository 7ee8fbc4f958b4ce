#!/usr/bin/env python3
"""The two commands of the README, for a machine that has only Python 3:

    python3 run.py          start the portal with demo data (SQLite, Celery worker and beat with no server);
                            its e-mails are kept in the staff area (Sent e-mails), and the URLs and logins
                            are printed last, once everything is up
    python3 run.py test     run the test suite (extra arguments go to pytest)

It creates .venv with a Python new enough for Django 6 (3.12 or later; it looks for one if `python3` is
older), installs the pinned requirements when they change, and then does the work inside that environment.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
MIN_PYTHON = (3, 12)
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]


def say(message):
    print(f"[run.py] {message}", flush=True)


def python_version(executable):
    try:
        out = subprocess.run(
            [str(executable), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=20,
        )
        return tuple(int(part) for part in out.stdout.split())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def find_python():
    """This interpreter if it is new enough, else the newest python3.1x on PATH or under pyenv."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return Path(sys.executable)
    candidates = [shutil.which(f"python3.{minor}") for minor in range(20, MIN_PYTHON[1] - 1, -1)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv_root.is_dir():
        candidates += sorted(pyenv_root.glob("3.*/bin/python3"), reverse=True)
    for candidate in filter(None, candidates):
        version = python_version(candidate)
        if version and version >= MIN_PYTHON:
            return Path(candidate)
    sys.exit(
        f"[run.py] Django 6 needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or later, and none was found "
        f"(this is {sys.version.split()[0]}). Install one (e.g. apt install python3.12) and run again."
    )


def ensure_venv():
    version = python_version(VENV_PYTHON) if VENV_PYTHON.exists() else None
    if version is None or version < MIN_PYTHON:
        python = find_python()
        say(f"Creating .venv with {python}")
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in REQUIREMENTS)).hexdigest()
    stamp = VENV / ".requirements-sha256"
    if not stamp.exists() or stamp.read_text() != digest:
        say("Installing the pinned requirements (first run only; a minute or two)")
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-dev.txt")], check=True)
        stamp.write_text(digest)


def manage(*args, env=None):
    subprocess.run([str(VENV_PYTHON), str(ROOT / "manage.py"), *args], check=True, cwd=ROOT, env=env)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # stop the children the same way as Ctrl-C


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def var_dir():
    return Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))


def fusionpbx_env(env):
    """The FusionPBX simulator keeps FusionPBX's tables in a SQLite file it creates in the temporary directory
    (and removes when it stops): point that at the demo's var dir, emptied of files an earlier run killed
    before it could remove them. Its FreeSWITCH event socket listens on a free port of its own choosing."""
    folder = var_dir() / "fusionpbx-simulator"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("fusionpbx-sim-*"):
        stale.unlink(missing_ok=True)
    return {**env, "TMPDIR": str(folder)}


def start_simulator(name, env):
    """Start `manage.py run_simulator <name>` on a free loopback port and wait until it answers; returns
    (process, url). The demo's servers point at it (load_demo gets the URL and seeds it)."""
    port = free_port()
    if name == "fusionpbx":
        env = fusionpbx_env(env)
    process = subprocess.Popen([str(VENV_PYTHON), "manage.py", "run_simulator", name, "--port", str(port)],
                               cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if process.poll() is not None:
            sys.exit(f"[run.py] The {name} simulator did not start (exit status {process.returncode}).")
        try:
            with urllib.request.urlopen(f"{url}/_simulator/state", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"[run.py] The {name} simulator did not answer on {url}.")


# The vendor simulators the demo's servers point at: name → the variable load_demo reads their URL from.
SIMULATORS = {"smartermail": "DEMO_SMARTERMAIL_URL", "polarismail": "DEMO_POLARISMAIL_URL", "vodia": "DEMO_VODIA_URL",
              "lesnet": "DEMO_LESNET_URL", "fusionpbx": "DEMO_FUSIONPBX_URL", "stripe": "DEMO_STRIPE_URL",
              "paypal": "DEMO_PAYPAL_URL", "vies": "VIES_URL"}  # VIES: EU VAT numbers (docs/tax.md)


def fusionpbx_where(url):
    """The FusionPBX simulator's database file and event socket port, from its state page."""
    try:
        with urllib.request.urlopen(f"{url}/_simulator/state", timeout=5) as answer:
            state = json.load(answer)
        return f"database {state['database_url']}, event socket 127.0.0.1:{state['event_socket']['port']}"
    except (OSError, ValueError, KeyError):
        return "database and event socket: see its /_simulator/state"


def stop_all(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def demo_env(port, base=None):
    """The environment of every process of the demo. Its e-mails go to the outbox (EMAIL_URL=outbox://): kept
    in the staff area's Sent e-mails page, delivered to nobody and not printed over the console."""
    env = {**(os.environ if base is None else base), "PORTAL_ENV": "development", "PYTHONUNBUFFERED": "1"}
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{port}")  # links in the demo's e-mails
    env.setdefault("EMAIL_URL", "outbox://")  # a mail server of one's own (EMAIL_URL set) is used instead
    env.setdefault("VIES_ENABLED", "true")  # VAT numbers are checked with the VIES simulator run_demo starts
    if not env.get("BANK_IBAN"):  # the seller's bank details on the demo's invoices, unless one's own are set
        for name, value in DEMO_BANK.items():
            env.setdefault(name, value)
    return env


# Example bank details (a valid test IBAN and BIC) for the demo's invoices and its bank statement.
DEMO_BANK = {"BANK_ACCOUNT_NAME": "Demo Hosting Ltd", "BANK_IBAN": "GB82 WEST 1234 5698 7654 32",
             "BANK_BIC": "WESTGB2L", "BANK_NAME": "Westminster Demo Bank"}


def log_dir():
    return var_dir() / "log"


def shown(path):
    """A path as the banner shows it: relative to the clone when it is inside (var/log), else in full."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


# The Celery processes write to var/log/ (their INFO lines every five minutes would push the banner away);
# each line is the one that says the process is up.
LOGGED = {"worker": " ready.", "beat": "beat: Starting..."}
OUTBOX_PATH = "/admin/portal/sentemail/"


def banner(port, urls, *, email_url, fusionpbx):
    """The lines run.py prints once everything is up, last, so they are on screen when the start is over."""
    base = f"http://127.0.0.1:{port}"
    if email_url.startswith("outbox:"):
        mail = f"E-mails:     {base}{OUTBOX_PATH}  (Sent e-mails, staff area: the demo delivers none, it keeps them there)"
    else:
        mail = f"E-mails:     sent through EMAIL_URL ({email_url.partition('://')[0]}://…)"
    logs = shown(log_dir())
    return [
        "=" * 100,
        f"Portal:      {base}/   (client area)",
        f"Staff area:  {base}/admin/",
        "Logins:      staff admin / demo-admin-pass;  client alice@acme.example / demo-client-pass",
        mail,
        (f"Simulators:  SmarterMail {urls['smartermail']}, PolarisMail {urls['polarismail']}, Vodia {urls['vodia']}, "
         f"LesNet {urls['lesnet']}, FusionPBX {urls['fusionpbx']}  (the demo's servers; state at /_simulator/state)"),
        (f"Payments:    Stripe simulator {urls['stripe']}: Pay now on an unpaid invoice; card 4242424242424242 pays, "
         f"4000000000000002 is declined; PayPal simulator {urls['paypal']}: Pay with PayPal, then Pay Now on its "
         "page (funding 'declined' or 'pending' for the other outcomes)"),
        ("Auto-pay:    frank's saved card paid his invoice automatically; carol's was declined (her invoice waits, "
         "the e-mail is in Sent e-mails); staff area → Bank statements: one line paid an invoice, one waits for staff"),
        (f"Store:       {base}/store/  (a visitor orders and signs up; promotion code WELCOME10 takes 10 % off the "
         "first payment)"),
        ("Mail:        alice's Mail Team (acme-team.example, PolarisMail): My services → Manage email → Distribution "
         "Lists, Branding"),
        (f"FusionPBX:   {fusionpbx}; Hosted PBX services of bob and carol (the demo's autosuspend sweep disabled "
         "carol's extensions: Unsuspend on her service page turns them on)"),
        (f"VoIP:        alice's call records: My services → VoIP Metered → Call records; Vodia pushes CDRs to "
         f"{base}/voip/cdr-push/<source id>/?domain=<tenant> as vodia-demo / demo-push-pass"),
        (f"Celery:      worker and beat are running (filesystem broker under var/); their logs: "
         f"{logs / 'celery-worker.log'}, {logs / 'celery-beat.log'}"),
        "=" * 100,
        "Press Ctrl-C to stop.",
    ]


def start_processes(port, env):
    """The web server (its requests logged on the console) and the Celery worker and beat (logged to var/log/)."""
    celery = [str(VENV_PYTHON), "-m", "celery", "-A", "config"]
    commands = {
        "web": [str(VENV_PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [*celery, "worker", "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }
    log_dir().mkdir(parents=True, exist_ok=True)
    children = {}
    for name, command in commands.items():
        if name in LOGGED:
            with open(log_dir() / f"celery-{name}.log", "w") as log:  # the child keeps its own copy of the file
                children[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        else:
            children[name] = subprocess.Popen(command, cwd=ROOT, env=env)
    # One heartbeat through the broker now, so the staff dashboard shows the worker alive without waiting
    # for beat's first five-minute mark.
    subprocess.run([*celery, "call", "portal.tasks.heartbeat"], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    return children


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True  # a connection, not a request: no request line printed on the console
    except OSError:
        return False


def wait_until_ready(port, children, timeout=120):
    """Wait until the web server listens and the worker and beat logs say they started (or one exits, or the
    time runs out); returns the names of the processes not ready."""
    waiting = {"web", *LOGGED}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            break
        if "web" in waiting and _listening(port):
            waiting.discard("web")
        for name, line in LOGGED.items():
            path = log_dir() / f"celery-{name}.log"
            if name in waiting and path.exists() and line in path.read_text(errors="replace"):
                waiting.discard(name)
        time.sleep(0.3)
    return waiting


def log_tail(name, lines=20):
    path = log_dir() / f"celery-{name}.log"
    if name not in LOGGED or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def supervise(children):
    """Until Ctrl-C or a process exits; then stop them all. The exit status of run.py."""
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        failed = [name for name, child in children.items() if child.poll() is not None]
        say(f"Stopped because {', '.join(failed)} exited.")
        for name in failed:
            if log_tail(name):
                say(f"The end of {log_dir() / f'celery-{name}.log'}:\n{log_tail(name)}")
        code = 1
    except KeyboardInterrupt:
        code = 0
    stop_all(children.values())
    return code


def run_demo(port):
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = demo_env(port)
    simulators, urls = {}, {}
    try:
        for name, variable in SIMULATORS.items():
            simulators[f"{name} simulator"], urls[name] = start_simulator(name, env)
            env[variable] = urls[name]
        say("Applying migrations and loading the demo data")
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("load_demo", env=env)
    except (subprocess.CalledProcessError, KeyboardInterrupt, SystemExit):
        stop_all(simulators.values())
        raise
    say("Starting the web server, the Celery worker and beat")
    children = {**simulators}
    try:
        children.update(start_processes(port, env))
        late = wait_until_ready(port, children)
    except KeyboardInterrupt:
        stop_all(children.values())
        return 0
    if late:
        say(f"Not ready yet: {', '.join(sorted(late))} (see above, or the logs under {log_dir()}).")
    # Last, once the start-up lines are printed: the URLs and logins stay on screen.
    for line in banner(port, urls, email_url=env["EMAIL_URL"], fusionpbx=fusionpbx_where(urls["fusionpbx"])):
        say(line)
    return supervise(children)


def run_tests(args):
    return subprocess.run([str(VENV_PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


def main(argv):
    ensure_venv()
    if argv[:1] == ["test"]:
        return run_tests(argv[1:])
    port = 8000
    if "--port" in argv:
        port = int(argv[argv.index("--port") + 1])
    return run_demo(port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
