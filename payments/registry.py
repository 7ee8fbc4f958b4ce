"""The gateways installed through settings.PAYMENT_GATEWAYS (dotted paths, like PROVISIONING_MODULES), by key."""
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from payments.models import GatewaySettings


@cache
def _classes(paths):
    classes = {}
    for path in paths:
        gateway_class = import_string(path)
        if gateway_class.key in classes:
            raise ImproperlyConfigured(f"Two payment gateways use the key {gateway_class.key!r}.")
        classes[gateway_class.key] = gateway_class
    return classes


def gateway_classes():
    return _classes(tuple(settings.PAYMENT_GATEWAYS))


def settings_for(key):
    """The gateway's settings row (created disabled on first use)."""
    if key not in gateway_classes():
        raise ImproperlyConfigured(f"The payment gateway {key!r} is not installed (settings.PAYMENT_GATEWAYS).")
    row, _ = GatewaySettings.objects.get_or_create(gateway=key, defaults={"display_name": gateway_classes()[key].label})
    return row


def get_gateway(key):
    """An instance of the gateway with its current settings (enabled or not)."""
    return gateway_classes()[key](settings_for(key))


def enabled_gateways():
    """The gateways clients may pay with, in settings order: [(key, display name)]."""
    rows = {row.gateway: row for row in GatewaySettings.objects.filter(enabled=True, gateway__in=gateway_classes())}
    return [(key, rows[key].display_name or cls.label) for key, cls in gateway_classes().items() if key in rows]
