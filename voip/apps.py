from django.apps import AppConfig


class VoipConfig(AppConfig):
    """Rate packages, CDR sources and imports, rating, prepaid-credit autosuspend (see shared/voip-rating.md)."""

    name = "voip"
    verbose_name = "VoIP"
