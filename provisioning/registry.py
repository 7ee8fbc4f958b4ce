"""The modules installed through settings.PROVISIONING_MODULES, by key."""
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


@cache
def _modules(paths):
    modules = {}
    for path in paths:
        module_class = import_string(path)
        if module_class.key in modules:
            raise ImproperlyConfigured(f"Two provisioning modules use the key {module_class.key!r}.")
        modules[module_class.key] = module_class()
    return modules


def installed_modules():
    return _modules(tuple(settings.PROVISIONING_MODULES))


def get_module(key):
    """The module instance for `key`, or None for a product without a module."""
    if not key:
        return None
    try:
        return installed_modules()[key]
    except KeyError:
        raise ImproperlyConfigured(
            f"The provisioning module {key!r} is not installed (settings.PROVISIONING_MODULES)."
        ) from None


def module_choices():
    return [("", "None (no provisioning)")] + [(key, m.label) for key, m in sorted(installed_modules().items())]
