"""Every client-area URL, as the owner, as another client and anonymously: only the owner gets the page,
another client gets 404 for the owner's objects, and an anonymous visitor is sent to the login page.

The URL list is read from the URLconf, so a new client-area page fails this test until it has a row in
OBJECT_KWARGS (when it takes an object id) or is public (config.urls_clientarea.PUBLIC_URL_NAMES).
Each app's tests add their own rows in `tests/<app>/isolation.py`: OBJECT_KWARGS = {url kwarg: f(owner) -> id}
where `owner` is the owning Client (make the object for it there)."""
from importlib import import_module

import pytest
from django.urls import URLPattern, get_resolver, reverse

from config.urls_clientarea import PUBLIC_URL_NAMES
from portal.models import Contact
from tests.factories import InvoiceFactory, ServiceFactory

pytestmark = pytest.mark.django_db

# URL keyword → how to get the owner's object id for it.
OBJECT_KWARGS = {
    "service_id": lambda fx: fx["service"].pk,
    "invoice_id": lambda fx: fx["invoice"].pk,
    "contact_id": lambda fx: fx["contact"].pk,
}
for _app in ("billing", "provisioning", "voip", "payments"):
    try:
        _extra = import_module(f"tests.{_app}.isolation").OBJECT_KWARGS
    except ModuleNotFoundError as exc:
        if exc.name not in (f"tests.{_app}", f"tests.{_app}.isolation"):
            raise
        continue
    OBJECT_KWARGS.update({key: (lambda make: lambda fx: make(fx["owner"]))(make) for key, make in _extra.items()})


def client_area_patterns():
    resolver = get_resolver()
    for entry in resolver.url_patterns:
        if getattr(entry, "namespace", None) == "clientarea":
            return [p for p in entry.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("clientarea namespace not found")


def private_url_names():
    return [p.name for p in client_area_patterns() if p.name not in PUBLIC_URL_NAMES]


@pytest.fixture
def fixtures(owner, other_client):
    return {
        "owner": owner,
        "other": other_client,
        "service": ServiceFactory(client=owner, domain="owner-only.example"),
        "invoice": InvoiceFactory(client=owner, number="OWN-1"),
        "contact": Contact.objects.create(client=owner, first_name="Owner", email="owner-only@owner-only.example"),
    }


def url_for(name, fx):
    pattern = next(p for p in client_area_patterns() if p.name == name)
    keys = list(pattern.pattern.converters)
    missing = [key for key in keys if key not in OBJECT_KWARGS]
    assert not missing, f"Add {missing} to OBJECT_KWARGS so that {name} is checked for isolation"
    return reverse(f"clientarea:{name}", kwargs={key: OBJECT_KWARGS[key](fx) for key in keys}), bool(keys)


def test_every_private_url_is_covered():
    assert set(private_url_names()) >= {"dashboard", "services", "service", "invoices", "invoice", "profile",
                                        "contacts", "contact_add", "contact_edit", "contact_delete"}


@pytest.mark.parametrize("name", private_url_names())
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitor_is_sent_to_login(client, fixtures, name, method):
    url, _ = url_for(name, fixtures)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('clientarea:login')}?next={url}"


@pytest.mark.parametrize("name", private_url_names())
def test_owner_gets_the_page(client, fixtures, name):
    client.force_login(fixtures["owner"].owner_user)
    url, _ = url_for(name, fixtures)
    response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("name", private_url_names())
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_client_gets_404_for_the_owners_objects(client, fixtures, name, method):
    url, takes_object = url_for(name, fixtures)
    client.force_login(fixtures["other"].owner_user)
    response = getattr(client, method)(url)
    if takes_object:
        assert response.status_code == 404
    else:
        # Pages without an object id show the visitor's own data: never the owner's.
        assert response.status_code in (200, 302)
        assert b"owner-only.example" not in response.content and b"OWN-1" not in response.content
