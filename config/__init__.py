"""The project's top floor: settings, URLs, the Celery app, WSGI/ASGI. It imports every app; no app imports it.
The Celery app is loaded with Django so that @shared_task binds to it."""
from config.celery import app as celery_app

__all__ = ("celery_app",)
