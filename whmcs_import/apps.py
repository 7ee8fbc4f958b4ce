from django.apps import AppConfig


class WhmcsImportConfig(AppConfig):
    name = "whmcs_import"
    verbose_name = "WHMCS import"
    default_auto_field = "django.db.models.BigAutoField"
