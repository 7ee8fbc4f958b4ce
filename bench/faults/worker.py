"""The Celery app of the fault-injection runs' workers: the portal's own app, with a short broker visibility
timeout (FAULTS_VISIBILITY_TIMEOUT seconds, default 15) so that a batch whose worker was killed is handed to
another worker within the run instead of after Redis's default hour.

    celery -A bench.faults.worker worker -c 1
"""
import os

from config.celery import app  # the app this module exposes to `celery -A`

app.conf.broker_transport_options = {"visibility_timeout": int(os.environ.get("FAULTS_VISIBILITY_TIMEOUT", "15"))}
