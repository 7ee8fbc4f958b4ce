from django.apps import AppConfig


class VoipConfig(AppConfig):
    """Rate packages, CDR sources and imports, rating, prepaid-credit autosuspend (see shared/voip-rating.md)."""

    name = "voip"
    verbose_name = "VoIP"

    def ready(self):
        # Imported here, not at the top: app modules load models, which Django allows only once apps are ready.
        from voip import hooks, tasks

        hooks.import_upload_later.answer(tasks.import_upload_later)
