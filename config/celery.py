"""The Celery application. The beat schedule comes from portal.jobs.PERIODIC_JOBS and is read in the business
time zone (CELERY_TIMEZONE = BUSINESS_TIME_ZONE), never in the server's."""
import os

from celery import Celery, signals

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


@signals.beat_init.connect
def record_beat_start(sender=None, **kwargs):
    """Jobs that have not run yet count from beat's start: the staff dashboard calls them "Not due yet" until
    their first due time has passed (portal.jobs)."""
    # Imported here, not at the top: as above, portal.jobs loads models.
    from portal.jobs import record_beat_start

    record_beat_start()
