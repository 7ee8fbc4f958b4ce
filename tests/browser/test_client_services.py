"""The client's service list in a real browser: every row says which product it is, at desktop and phone widths,
so a domain's mail and VoIP services can be told apart. Screenshots: tests/browser/screenshots/client-services-*.png."""
import pytest
from playwright.sync_api import expect

from billing.models import Product
from tests.browser.conftest import login_client, screenshot
from tests.factories import ClientFactory, ProductFactory, ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("path", ["/", "/services/"])
def test_each_service_row_shows_its_product_at_phone_and_desktop_width(page, width, path):
    client = ClientFactory()
    mail = ServiceFactory(client=client, domain="acme.example", product=ProductFactory(name="Business Mail"))
    voip = ServiceFactory(client=client, domain="acme.example",
                          product=ProductFactory(name="Hosted VoIP", type=Product.Type.VOIP))
    page.set_viewport_size({"width": width, "height": 900})
    login_client(page, client.owner_user)
    page.goto(path)
    rows = page.locator("table tbody tr").filter(has_text="acme.example")
    expect(rows).to_have_count(2)
    for service in (mail, voip):
        row = rows.filter(has=page.locator(f"a[href='/services/{service.pk}/']"))
        shown = row.get_by_text(service.product.name, exact=True).locator("visible=true")
        expect(shown).to_have_count(1)
    screenshot(page, "client-" + ("dashboard" if path == "/" else "service-list") + f"-products-{width}")
