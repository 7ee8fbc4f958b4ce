"""Client-area URLs: each app's `<app>/urls_clientarea.py`, in one namespace (so templates say
{% url 'clientarea:…' %} everywhere), and the union of the pages they declare public (PUBLIC_URL_NAMES); every
other client-area URL requires a signed-in client. tests/portal/test_isolation.py walks every one of them as
owner, other client and anonymous visitor, and fails when one takes an object id it has no fixture for."""
from api import urls_clientarea as api_urls
from billing import urls_clientarea as billing_urls
from payments import urls_clientarea as payments_urls
from portal import urls_clientarea as portal_urls
from provisioning import urls_clientarea as provisioning_urls
from voip import urls_clientarea as voip_urls

app_name = "clientarea"

APPS = (portal_urls, billing_urls, provisioning_urls, voip_urls, payments_urls, api_urls)
urlpatterns = [pattern for module in APPS for pattern in module.urlpatterns]
PUBLIC_URL_NAMES = set().union(*(getattr(module, "PUBLIC_URL_NAMES", ()) for module in APPS))
