"""A visitor orders in a real browser: browses the public catalogue, configures a 5-mailbox plan for an
internationalised domain, applies a promotion, signs up, confirms the e-mail address from the test mailbox (the
outbox backend's SentEmail rows), pays on the Stripe simulator's hosted page and lands on the confirmation page
with the service active; the domain exists on the SmarterMail simulator with the product options' path and IP
and the user limit of the 5 mailboxes bought. The whole flow runs at 1280 px and again at 390 px, with
screenshots of each step."""
import re
from decimal import Decimal
from importlib import import_module

import idna
import pytest
from django.apps import apps
from django.test import override_settings
from playwright.sync_api import expect

from billing.models import Order, Promotion, Service
from payments import demo
from payments.gateways.stripe.simulator import StripeSimulator
from portal.models import SentEmail
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from tests.browser.conftest import screenshot
from tests.browser.test_payments import wait_for
from tests.factories import ServerGroupFactory
from tests.provisioning.modules.smartermail.fixtures import sm_server, smartermail  # noqa: F401
from tests.storefront.conftest import priced_product

pytestmark = [pytest.mark.browser, pytest.mark.services]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DOMAIN = "bücher-laden.example"
OUTBOX = override_settings(MAILERS={"default": {"BACKEND": "portal.mail_outbox.OutboxEmailBackend", "OPTIONS": {}}})


@pytest.fixture
def stripe_sim():
    sim = StripeSimulator().start()
    yield sim
    sim.stop()


def shot(page, suffix, name):
    """The flow runs at each width; each run keeps its own screenshots (storefront-<step>[-mobile].png)."""
    screenshot(page, f"storefront-{name}{suffix}")


def both_widths(page, name):
    screenshot(page, f"storefront-{name}-mobile", viewport=PHONE)
    screenshot(page, f"storefront-{name}", viewport=DESKTOP)


@OUTBOX
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_visitor_orders_signs_up_verifies_pays_and_gets_the_mail_domain(
        page, live_server, stripe_sim, smartermail, sm_server, settings, viewport):  # noqa: F811
    settings.PORTAL_BASE_URL = live_server.url
    demo.attach_simulator(stripe_sim.url)
    # the template its migration seeds (an earlier live-server test's flush may have emptied the table)
    import_module("billing.migrations.0011_seed_service_welcome_email").seed(apps, None)
    group = ServerGroupFactory()
    group.servers.add(sm_server)
    plan = priced_product(
        name="Mail Business", module="smartermail", server_group=group,
        module_options=PRODUCT_OPTIONS.clean({"storage_path": "/mnt/mail/{domain}", "outbound_ip": "198.51.100.7",
                                              "dns_mx_hosts": ["mx1.mail.example"]}))
    Promotion.objects.create(code="WELCOME10", kind=Promotion.Kind.PERCENT, value=Decimal("10"))
    page.set_viewport_size(viewport)
    suffix = "" if viewport is DESKTOP else "-mobile"

    page.goto("/store/")
    expect(page.get_by_test_id(f"product-{plan.pk}")).to_contain_text("3 basic mailboxes included")
    shot(page, suffix, "1-catalogue")
    page.get_by_role("link", name="Configure Mail Business").click()
    page.get_by_label("Domain").fill(DOMAIN)
    page.get_by_label("Basic mailboxes").fill("5")
    page.get_by_label("Monthly: 10.00 USD + 5.00 setup").check()
    shot(page, suffix, "2-configure")
    page.get_by_role("button", name="Add to cart").click()

    ascii_domain = idna.encode(DOMAIN, uts46=True).decode()
    expect(page.get_by_test_id("cart-item")).to_contain_text(f"Mail Business – {ascii_domain}")
    expect(page.get_by_test_id("cart-total")).to_have_text("19.00 USD")  # 10 + 2 × 2.00 + 5.00 setup
    page.get_by_label("Promotion code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("cart-total")).to_have_text("17.60 USD")  # 10 % off the 14.00 plan
    # the totals add up on the page: first periods + setup − promotion = subtotal
    expect(page.get_by_test_id("cart-totals")).to_contain_text(re.compile(
        r"First periods\s*14\.00\s*Setup fees\s*5\.00\s*Promotion WELCOME10\s*− 1\.40\s*Subtotal\s*17\.60"))
    shot(page, suffix, "3-cart")
    page.get_by_role("link", name="Check out").click()
    page.get_by_role("link", name="Create an account").click()

    for name, value in (("first_name", "Ada"), ("last_name", "Lovelace"), ("email", "ada@bucher-laden.example"),
                        ("address1", "1 Main St"), ("city", "Toronto"), ("postcode", "M5V 1A1"), ("country", "CA"),
                        ("password1", "Correct-Horse-42"), ("password2", "Correct-Horse-42")):
        page.fill(f"input[name={name}]", value)
    page.get_by_label(re.compile("I accept the terms")).check()
    shot(page, suffix, "4-signup")
    page.get_by_role("button", name="Create account and continue").click()
    expect(page.get_by_test_id("verify-notice")).to_contain_text("Please confirm your e-mail address")

    message = SentEmail.objects.get(subject__startswith="Confirm your e-mail address")
    link = re.search(r"(/store/verify/\S+/)", message.body).group(1)
    page.goto(link)
    shot(page, suffix, "5-verify")
    page.get_by_role("button", name="Confirm my e-mail address").click()
    expect(page.get_by_role("status")).to_contain_text("ada@bucher-laden.example is confirmed")
    page.get_by_role("link", name="Continue").click()

    expect(page.get_by_test_id("checkout-total")).to_have_text("17.60 USD")
    shot(page, suffix, "6-checkout")
    page.get_by_role("button", name="Place order and pay").click()
    expect(page.locator("h1")).to_contain_text("Pay 17.60 USD")
    page.fill("input[name=card]", "4242424242424242")
    page.get_by_role("button", name="Pay").click()

    order = Order.objects.get()
    expect(page.locator("h1")).to_have_text(f"Thank you: order #{order.pk}")
    expect(page.get_by_test_id("invoice-status")).to_have_text("paid")
    # Create runs after the payment commits (the return page's, or a webhook's that came first): moments later
    assert wait_for(lambda: Service.objects.get().status == Service.Status.ACTIVE)
    page.reload()
    expect(page.get_by_test_id("order-service")).to_contain_text("Active")
    shot(page, suffix, "7-confirmation")

    service = Service.objects.get()
    assert (service.status, service.domain, service.recurring_amount) == ("active", ascii_domain, Decimal("14.00"))
    domain = smartermail.domain(ascii_domain)
    assert (domain.path, domain.outgoing_ip, domain.user_limit) == (f"/mnt/mail/{ascii_domain}", "198.51.100.7", 5)
    assert (order.source, order.promotion.code, order.discount) == ("storefront_signup", "WELCOME10", Decimal("1.40"))
    subject = f"Your Mail Business for {ascii_domain} is ready"
    assert wait_for(lambda: SentEmail.objects.filter(subject=subject).exists())
    welcome = SentEmail.objects.get(subject=subject)
    assert f"MX    {ascii_domain} 10 mx1.mail.example" in welcome.body
    page.goto("/services/")
    expect(page.get_by_role("main")).to_contain_text(ascii_domain)
    shot(page, suffix, "8-services")


def test_staff_see_promotion_usage_and_held_orders(page, live_server):
    from billing.services.orders import OrderItem, order_place
    from portal.activity import Actor
    from tests.browser.conftest import login_admin
    from tests.factories import ClientFactory, StaffFactory

    plan = priced_product(name="Mail Basic")
    promotion = Promotion.objects.create(code="SPRING", kind=Promotion.Kind.PERCENT, value=Decimal("15"), max_uses=50)
    order_place(client=ClientFactory(), items=[OrderItem(plan.pk, "held.example", "monthly")], actor=Actor.system("t"),
                promotion=promotion, source=Order.Source.STOREFRONT_SIGNUP, hold=Order.Hold.EMAIL_UNVERIFIED)
    login_admin(page, StaffFactory(is_superuser=True))
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/billing/promotion/")
    expect(page.locator("td.field-usage")).to_have_text("1 / 50 (1)")
    both_widths(page, "staff-1-promotions")
    page.goto("/admin/billing/order/")
    expect(page.locator("td.field-hold_state")).to_have_text("E-mail address not verified yet")
    expect(page.locator("td.field-client_label")).to_contain_text("e-mail unchecked")
    expect(page.locator("td.field-source_and_promotion")).to_have_text("Storefront, new sign-upSPRING − 1.50")  # two lines (<br>)
    both_widths(page, "staff-2-orders")
