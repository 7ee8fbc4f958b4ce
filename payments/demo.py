"""The demo's card payments: Stripe enabled in test mode against the Stripe simulator run.py started
(DEMO_STRIPE_URL), which sends its signed webhooks to the demo portal (PORTAL_BASE_URL)."""
import logging
import os

import requests
from django.conf import settings

from payments.registry import settings_for

logger = logging.getLogger(__name__)

URL_VARIABLE = "DEMO_STRIPE_URL"
SECRET_KEY = "sk_test_demo_portal"
WEBHOOK_SECRET = "whsec_demo_portal"


def attach_simulator(url=None):
    """Enable Stripe (test mode) with the simulator's URL as its API base, and tell the simulator the key, the
    webhook secret and where to send webhooks. Returns True when attached, None without a simulator."""
    url = (url or os.environ.get(URL_VARIABLE, "")).rstrip("/")
    if not url:
        return None
    webhook_url = f"{settings.PORTAL_BASE_URL.rstrip('/')}/payments/webhook/stripe/"
    try:
        requests.post(f"{url}/_simulator/seed", json={"api_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET,
                                                     "webhook_url": webhook_url}, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        logger.warning("Could not seed the Stripe simulator at %s: %s", url, exc)
        return None
    row = settings_for("stripe")
    row.enabled, row.test_mode, row.display_name = True, True, row.display_name or "Card (Stripe test mode)"
    row.options = {**row.options, "api_base": url}
    row.set_secret_values({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET})
    row.save()
    return True
