"""`python3 run.py`: the demo's e-mails go to the outbox (the staff area's Sent e-mails), not to the console,
and the banner with the URLs and logins comes last, once the web server, the worker and beat are up, so it is
on screen when the start is over."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_environment_keeps_e_mails_in_the_outbox_not_on_the_console(run, tmp_path):
    env = run.demo_env(8123, base={"PATH": os.environ["PATH"], "PORTAL_VAR_DIR": str(tmp_path)})
    assert env["EMAIL_URL"] == "outbox://"
    probe = ("import json, django; django.setup(); from django.conf import settings; "
             "print(json.dumps(settings.MAILERS['default']['BACKEND']))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == "portal.mail_outbox.OutboxEmailBackend"


def test_a_mail_server_of_ones_own_is_kept(run):
    assert run.demo_env(8123, base={"EMAIL_URL": "smtp://127.0.0.1:1025"})["EMAIL_URL"] == "smtp://127.0.0.1:1025"
    lines = run.banner(8123, URLS, email_url="smtp://127.0.0.1:1025", fusionpbx="db")
    assert "E-mails:     sent through EMAIL_URL (smtp://…)" in lines


def test_the_demo_invoices_show_example_bank_details_unless_ones_own_are_set(run, tmp_path):
    env = run.demo_env(8123, base={"PATH": os.environ["PATH"], "PORTAL_VAR_DIR": str(tmp_path)})
    probe = ("import json, django; django.setup(); from django.conf import settings; print(json.dumps("
             "[settings.BANK_ACCOUNT_NAME, settings.BANK_IBAN, settings.BANK_BIC, settings.BANK_NAME]))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, check=False)
    assert result.returncode == 0, result.stderr  # valid (config/settings.py checks the IBAN and the BIC)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "Demo Hosting Ltd", "GB82WEST12345698765432", "WESTGB2L", "Westminster Demo Bank"]
    own = run.demo_env(8123, base={"BANK_IBAN": "DE89370400440532013000"})
    assert own["BANK_IBAN"] == "DE89370400440532013000" and "BANK_ACCOUNT_NAME" not in own


URLS = {name: f"http://127.0.0.1:90{n}" for n, name in enumerate(["smartermail", "polarismail", "vodia", "lesnet",
                                                                   "fusionpbx", "stripe", "paypal", "vies"])}


def test_the_banner_names_the_sent_e_mails_page_with_the_urls_and_logins(run):
    text = "\n".join(run.banner(8123, URLS, email_url="outbox://", fusionpbx="database x"))
    assert run.OUTBOX_PATH == reverse("admin:portal_sentemail_changelist")
    assert f"http://127.0.0.1:8123{run.OUTBOX_PATH}" in text
    for shown in ("http://127.0.0.1:8123/", "http://127.0.0.1:8123/admin/", "admin / demo-admin-pass",
                  "alice@acme.example / demo-client-pass", "Ctrl-C", "Stripe simulator http://127.0.0.1:905",
                  "PayPal simulator http://127.0.0.1:906"):
        assert shown in text


class FakeProcess:
    def __init__(self, events, name):
        self.name, self.events = name, events

    def poll(self):
        return None


def test_the_banner_is_printed_last_once_the_web_server_worker_and_beat_are_up(run, monkeypatch):
    events = []
    monkeypatch.setattr(run.signal, "signal", lambda *args: None)
    monkeypatch.setattr(run, "say", lambda message: events.append(("say", message)))
    monkeypatch.setattr(run, "manage", lambda *args, env: events.append(("manage", args[0], env["EMAIL_URL"])))
    monkeypatch.setattr(run, "start_simulator", lambda name, env: (FakeProcess(events, name), URLS[name]))
    monkeypatch.setattr(run, "fusionpbx_where", lambda url: "database x")

    def popen(command, *, cwd, env, **streams):
        name = "web" if "runserver" in command else command[command.index("config") + 1]
        events.append(("start", name, env["EMAIL_URL"]))
        return FakeProcess(events, name)

    monkeypatch.setattr(run.subprocess, "Popen", popen)
    monkeypatch.setattr(run.subprocess, "run", lambda command, **kwargs: events.append(("heartbeat",)))

    def wait_until_ready(port, children):
        assert {"web", "worker", "beat"} <= set(children)
        events.append(("ready",))
        return set()

    monkeypatch.setattr(run, "wait_until_ready", wait_until_ready)
    monkeypatch.setattr(run, "supervise", lambda children: events.append(("supervise",)) or 0)

    assert run.run_demo(8123) == 0

    kinds = [event[0] for event in events]
    banner = run.banner(8123, URLS, email_url="outbox://", fusionpbx="database x")
    first = events.index(("say", banner[0]))
    assert [message for kind, message in events[first:-1]] == banner  # nothing between its lines
    assert events[-1] == ("supervise",)
    assert kinds.index("ready") < first
    assert {event[1] for event in events if event[0] == "start"} == {"web", "worker", "beat"}
    assert max(i for i, kind in enumerate(kinds) if kind in ("start", "heartbeat", "manage")) < kinds.index("ready")
    # Every process the demo starts sends its e-mails to the outbox.
    assert {event[-1] for event in events if event[0] in ("start", "manage")} == {"outbox://"}


def test_the_worker_and_beat_log_to_var_and_are_ready_when_their_logs_say_so(run, tmp_path):
    children = {"web": FakeProcess([], "web")}
    log = tmp_path / "log"
    log.mkdir()
    (log / "celery-worker.log").write_text("[...] celery@host ready.\n")
    (log / "celery-beat.log").write_text("[...] beat: Starting...\n")
    assert run.wait_until_ready(1, children, timeout=2) == {"web"}  # port 1: nothing listens there
    (log / "celery-beat.log").write_text("celery beat v5 is starting.\n")
    assert run.wait_until_ready(1, children, timeout=1) == {"web", "beat"}
