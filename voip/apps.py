from django.apps import AppConfig


class VoipConfig(AppConfig):
    """Rate packages, CDR sources and imports, rating, prepaid-credit autosuspend (see shared/voip-rating.md)."""

    name = "voip"
    verbose_name = "VoIP"

    def ready(self):
        # The upload service queues its import through this hook instead of importing voip.tasks, which imports
        # the services (voip/services/uploads.py says why a hook). Here rather than at the top: an app's modules
        # that import models can only be imported once the app registry is ready.
        from voip import tasks
        from voip.services import uploads

        uploads.register_import_queue(tasks.import_upload.delay)
