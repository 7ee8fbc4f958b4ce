"""Help texts are plain text: Django's admin prints a model field's help as HTML, so a placeholder written as
<name> would be taken for an element and vanish from the page."""
import re

from django.apps import apps

PROJECT_APPS = ("api", "billing", "payments", "portal", "provisioning", "voip")
PLACEHOLDER = re.compile(r"<[a-z_ ]+>")


def test_no_model_help_text_has_a_placeholder_the_admin_would_swallow():
    offenders = [f"{model._meta.label}.{field.name}: {field.help_text}"
                 for app in PROJECT_APPS for model in apps.get_app_config(app).get_models()
                 for field in model._meta.get_fields() if PLACEHOLDER.search(str(getattr(field, "help_text", "")))]
    assert offenders == []
