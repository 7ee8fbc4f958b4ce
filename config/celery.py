"""The Celery application. The beat schedule comes from portal.jobs.PERIODIC_JOBS and is read in the business
time zone (CELERY_TIMEZONE = BUSINESS_TIME_ZONE), never in the server's."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def install_beat_schedule(sender, **kwargs):
    # Imported here, not at the top: this module loads with the settings, before Django's apps are ready,
    # and portal.jobs loads models.
    from portal.jobs import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
