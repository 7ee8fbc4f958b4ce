"""Integration: a real Celery worker, started as a subprocess, takes a task from Redis and writes to the test
database that this test process uses.

The worker runs with the real settings (DJANGO_SETTINGS_MODULE=config.settings, not eager), REDIS_URL as its
broker and DATABASE_URL pointing at the test database (a file for SQLite, see config/settings.py
`_db["TEST"]`; the test_… database for MariaDB). `transactional_db` makes the worker's rows visible here and
lets the flush after the test remove them.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from portal.models import JobRun
from tests.conftest import service_unavailable

pytestmark = pytest.mark.services

ROOT = Path(settings.BASE_DIR)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 30


def redis_url():
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def database_url_for_worker():
    """A DATABASE_URL for the database this test process is connected to (the test database)."""
    db = connection.settings_dict
    engine = db["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail(f"The SQLite test database must be a file a second process can open, not {name!r}.")
        return f"sqlite:///{Path(name).resolve()}"  # sqlite:////abs/path
    if engine == "django.db.backends.mysql":
        user = quote(db.get("USER") or "", safe="")
        password = quote(db.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db.get("HOST") or "localhost"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"mysql://{credentials}{host}{port}/{quote(str(db['NAME']), safe='')}"
    pytest.fail(f"No DATABASE_URL recipe for the database engine {engine}.")


@pytest.fixture
def redis_client():
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        service_unavailable(f"Redis not reachable at {url}: {exc}")
    yield client
    client.close()


@pytest.fixture
def worker_queue(redis_client):
    """A queue name of this test's own, so parallel runs on the same Redis never take each other's tasks."""
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    yield queue
    # kombu's Redis transport keeps the queue as a list plus binding sets named after the exchange (here the
    # queue's own name); leave nothing behind.
    redis_client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def start_worker(*, queue, log_path, var_dir):
    env = {
        key: value
        for key, value in os.environ.items()
        # The worker must not inherit test-only or conflicting configuration of this process.
        if key not in {"CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PORTAL_ENV": "development",
            "DATABASE_URL": database_url_for_worker(),
            "REDIS_URL": redis_url(),
            "PORTAL_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-P", "solo",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-Q", queue,
        "-n", f"{queue}@%h",
        "-l", "INFO",
    ]
    log = open(log_path, "wb")
    try:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    finally:
        log.close()  # the child holds its own descriptor
    return process


def stop_worker(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def worker_output(log_path):
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    return text[-8000:] or "(the worker wrote nothing)"


def send_heartbeat(queue):
    """Send over Redis with an app of our own: the default app is eager under the test settings."""
    from celery import Celery

    sender = Celery("test-sender", broker=redis_url())
    sender.conf.broker_connection_retry_on_startup = False
    sender.conf.broker_connection_max_retries = 2
    try:
        return sender.send_task("portal.tasks.heartbeat", queue=queue)
    finally:
        sender.close()


def test_real_worker_runs_heartbeat_from_redis(transactional_db, worker_queue, tmp_path):
    assert not JobRun.objects.filter(name="heartbeat").exists()
    log_path = tmp_path / "worker.log"
    worker = start_worker(queue=worker_queue, log_path=log_path, var_dir=tmp_path / "worker-var")
    try:
        send_heartbeat(worker_queue)
        deadline = time.monotonic() + WAIT_SECONDS
        run = None
        while time.monotonic() < deadline:
            run = JobRun.objects.filter(name="heartbeat").first()
            if run is not None and run.status == JobRun.Status.SUCCESS:
                break
            if worker.poll() is not None:
                pytest.fail(
                    f"The Celery worker exited with code {worker.returncode} before running the task.\n"
                    f"--- worker output ---\n{worker_output(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.3)
        assert run is not None and run.status == JobRun.Status.SUCCESS and run.run_count == 1, (
            f"After {WAIT_SECONDS}s the heartbeat JobRun is {run and (run.status, run.run_count, run.last_error)!r}, "
            f"expected ('success', 1).\n--- worker output ---\n{worker_output(log_path)}"
        )
        assert run.last_summary == "Scheduler and worker alive"
        assert run.last_success_at is not None
    finally:
        stop_worker(worker)
