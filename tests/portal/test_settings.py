"""Settings come from the environment: embedded defaults in development, and a production mode that refuses
to start without its secrets, naming the missing variable. Each case runs Django in a fresh process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-for-tests-0123456789",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "portal.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "sqlite:////tmp/portal-settings-test.sqlite3",
    "EMAIL_URL": "smtp+tls://billing:secret@smtp.example.com:587",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'mailer': s.MAILERS['default']['BACKEND'], 'secret': s.SECRET_KEY, 'keys': s.FIELD_ENCRYPTION_KEYS, "
    "'debug': s.DEBUG, 'tz': s.TIME_ZONE, 'celery_tz': s.CELERY_TIMEZONE, 'cache': s.CACHES['default']['BACKEND']}))"
)


def run_django(env_vars, *args, tmp_path):
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env = {**keep, "DJANGO_SETTINGS_MODULE": "config.settings", "PORTAL_VAR_DIR": str(tmp_path), **env_vars}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def probe(env_vars, tmp_path):
    result = run_django(env_vars, "-c", PROBE, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_defaults_need_no_server(tmp_path):
    config = probe({}, tmp_path)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["broker"] == "filesystem://"
    assert config["mailer"] == "django.core.mail.backends.console.EmailBackend"
    assert config["cache"].endswith("LocMemCache")
    assert config["debug"] is True
    assert (config["tz"], config["celery_tz"]) == ("UTC", "UTC")
    # Generated once and kept, so a restart keeps sessions and can decrypt what it stored.
    assert len(config["secret"]) >= 50 and len(config["keys"]) == 1
    assert probe({}, tmp_path)["secret"] == config["secret"]
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o777 == 0o600


def test_redis_url_becomes_broker_and_cache_and_time_zone_is_the_business_one(tmp_path):
    config = probe({"REDIS_URL": "redis://127.0.0.1:6379/3", "BUSINESS_TIME_ZONE": "America/Toronto"}, tmp_path)
    assert config["broker"] == "redis://127.0.0.1:6379/3"
    assert config["cache"].endswith("RedisCache")
    assert (config["tz"], config["celery_tz"]) == ("America/Toronto", "America/Toronto")


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS", "REDIS_URL", "EMAIL_URL"])
def test_production_refuses_to_start_without_a_secret_and_names_it(tmp_path, missing):
    env_vars = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run_django(env_vars, "manage.py", "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"needs the environment variable {missing}" in result.stderr


def test_production_with_its_secrets_starts_and_never_generates_any(tmp_path):
    config = probe(PRODUCTION, tmp_path)
    assert config["secret"] == PRODUCTION["SECRET_KEY"]
    assert config["keys"] == [PRODUCTION["FIELD_ENCRYPTION_KEY"]]
    assert config["debug"] is False
    assert not (tmp_path / "dev-secrets.json").exists()


def test_check_deploy_with_production_settings_reports_only_what_the_readme_explains(tmp_path):
    result = run_django(PRODUCTION, "manage.py", "check", "--deploy", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    warnings = sorted(set(__import__("re").findall(r"\((security\.\w+)\)", output)))
    # HSTS preload is a decision for the domain's owner (README, "Production"); everything else is clean.
    assert warnings == ["security.W021"]


def test_an_unknown_mode_is_refused(tmp_path):
    result = run_django({"PORTAL_ENV": "staging"}, "manage.py", "check", tmp_path=tmp_path)
    assert result.returncode != 0 and "PORTAL_ENV must be 'development' or 'production'" in result.stderr


def test_outbox_url_keeps_e_mails_in_development_and_is_refused_in_production(tmp_path):
    assert probe({"EMAIL_URL": "outbox://"}, tmp_path)["mailer"] == "portal.mail_outbox.OutboxEmailBackend"
    result = run_django({**PRODUCTION, "EMAIL_URL": "outbox://"}, "manage.py", "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "EMAIL_URL=outbox:// keeps e-mails in the staff area instead of sending them" in result.stderr
