"""Sign-up at checkout, e-mail verification, the order → pay → provision path with its holds (unverified
address, staff review), re-quoting a changed price, and the abuse limits."""
import re
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import EmailLog, Invoice, Order, ProductPrice, Service
from billing.services.ledger import credit_adjust
from billing.services.payments import payment_record
from portal.activity import Actor
from portal.models import ActivityLog, Client
from storefront import cart as carts
from storefront.models import StorefrontSettings
from tests.factories import ClientFactory
from tests.storefront.conftest import add_to_cart, signup_data

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def shop(**fields):
    settings = StorefrontSettings.load_for_edit()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def checkout(client, **data):
    page = client.get("/store/checkout/")
    total = page.context["quote"].total
    return client.post("/store/checkout/", {"expected_total": str(total), "website": "", **data})


def pay(invoice, capture):
    with capture(execute=True):
        payment_record(invoice=invoice, amount=invoice.balance, transaction_id=f"t-{invoice.pk}", actor=SYSTEM)


def verification_link():
    bodies = [m.body for m in mail.outbox if m.subject.startswith("Confirm your e-mail address")]
    return re.search(r"https?://\S+(/store/verify/\S+/)", bodies[-1]).group(1)


def test_sign_up_records_the_terms_logs_in_keeps_the_cart_and_sends_the_verification_link(
        client, plan, django_capture_on_commit_callbacks):
    shop(terms_version="2026-11")
    add_to_cart(client, plan, domain="ada.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/store/signup/", signup_data())
    assert response.status_code == 302 and response.url == "/store/checkout/"
    created = Client.objects.get(email="ada@example.org")
    assert (created.signup_source, created.terms_version, created.email_verification_pending) == ("storefront", "2026-11", True)
    assert created.terms_accepted_at is not None
    assert created.users.get().user.username == "ada@example.org"
    assert [i["domain"] for i in client.session[carts.SESSION_KEY]["items"]] == ["ada.example"]
    assert mail.outbox[-1].to == ["ada@example.org"] and "/store/verify/" in mail.outbox[-1].body
    assert ActivityLog.objects.filter(action="client.signup", client=created).exists()
    assert "we sent a link to ada@example.org" in client.get("/store/checkout/").content.decode()


@pytest.mark.parametrize("field, value, message", [
    ("password1", "lovelace-ada", "The password is too similar to the last name."),
    ("password2", "Other-Horse-42", "The two passwords differ."),
    ("accept_terms", "", "Please accept the terms to open an account."),
    ("email", "not-an-address", "Enter a valid email address."),
    ("country", "Canada", "Ensure this value has at most 2 characters (it has 6)."),
    ("first_name", "", "This field is required."),
])
def test_every_sign_up_field_is_checked_next_to_it(client, plan, field, value, message):
    data = signup_data(**{field: value}, **({"password2": value} if field == "password1" else {}))
    response = client.post("/store/signup/", data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Client.objects.exists()


def test_an_address_already_used_logs_in_instead(client, plan):
    ClientFactory(email="ada@example.org")
    response = client.post("/store/signup/", signup_data())
    assert response.context["form"].errors["email"] == ["A user already exists with that email address"]


def test_the_honeypot_refuses_a_bot(client, plan):
    response = client.post("/store/signup/", signup_data(website="http://spam.example"))
    assert response.context["form"].errors["website"] == ["This form was not filled in by a person."]
    assert not Client.objects.exists()


def test_sign_ups_are_rate_limited_per_address(client, plan):
    shop(signups_per_hour=1)
    assert client.post("/store/signup/", signup_data()).status_code == 302
    client.logout()
    response = client.post("/store/signup/", signup_data(email="second@example.org"))
    assert "Too many sign-ups from your address" in response.context["form"].non_field_errors()[0]
    assert Client.objects.count() == 1


def test_an_unverified_order_is_accepted_as_pending_and_provisioned_once_the_address_is_verified(
        client, plan, django_capture_on_commit_callbacks):
    add_to_cart(client, plan, domain="ada.example", mailboxes_basic=5)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/store/signup/", signup_data())
    response = checkout(client)
    order = Order.objects.get()
    assert (order.source, order.hold) == (Order.Source.STOREFRONT_SIGNUP, Order.Hold.EMAIL_UNVERIFIED)
    assert response.url == f"/invoices/{order.invoice.pk}/"  # no gateway enabled: the invoice and its bank details
    assert order.invoice.total == Decimal("19.00")
    pay(order.invoice, django_capture_on_commit_callbacks)
    service = Service.objects.get()
    assert service.status == Service.Status.PENDING
    page = client.get(f"/store/orders/{order.pk}/").content.decode()
    assert "Waiting for you to confirm your e-mail address" in page

    link = verification_link()
    assert "Confirm ada@example.org" in client.get(link).content.decode()
    assert Service.objects.get().status == Service.Status.PENDING  # opening the link alone changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVE
    order.refresh_from_db()
    assert order.hold == "" and order.released_at is not None
    assert Client.objects.get().email_verified_at is not None
    welcome = EmailLog.objects.get(event_key=f"service.welcome:{service.pk}")
    assert welcome.template_name == "Service Welcome Email"


def test_a_verified_client_with_credit_gets_the_service_at_once_and_the_confirmation_page(
        client, plan, django_capture_on_commit_callbacks):
    owner = ClientFactory(apply_credit_to_invoices=True)
    credit_adjust(client=owner, amount="50.00", reason="gift", actor=SYSTEM)
    client.force_login(owner.owner_user)
    add_to_cart(client, plan, domain="owner.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = checkout(client, use_credit="on")
    order = Order.objects.get()
    assert (order.source, order.hold) == (Order.Source.STOREFRONT, "")
    assert response.url == f"/store/orders/{order.pk}/"
    assert order.invoice.status == Invoice.Status.PAID
    assert Service.objects.get().status == Service.Status.ACTIVE
    page = client.get(response.url).content.decode()
    assert 'data-testid="invoice-status">paid' in page and "Active" in page
    assert client.session.get(carts.SESSION_KEY) is None


def test_orders_above_the_review_amount_wait_for_staff_who_release_them(
        client, plan, admin_client, django_capture_on_commit_callbacks):
    shop(review_orders_above=Decimal("12.00"))
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    add_to_cart(client, plan, domain="big.example")
    checkout(client)
    order = Order.objects.get()
    assert order.hold == Order.Hold.REVIEW_AMOUNT
    pay(order.invoice, django_capture_on_commit_callbacks)
    assert Service.objects.get().status == Service.Status.PENDING
    assert "Waiting for review by our staff (order above the review amount)" in \
        client.get(f"/store/orders/{order.pk}/").content.decode()
    listing = admin_client.get("/admin/billing/order/").content.decode()
    assert "Order above the review amount" in listing and "Storefront, existing client" in listing
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/billing/order/", {"action": "release", "_selected_action": [order.pk]})
    assert Service.objects.get().status == Service.Status.ACTIVE
    assert ActivityLog.objects.filter(action="order.release", message__contains="reviewed by").exists()


def test_the_first_order_of_a_new_client_waits_for_review_when_staff_ask(client, plan):
    shop(review_new_client_orders=True, require_email_verification=False)
    add_to_cart(client, plan)
    client.post("/store/signup/", signup_data())
    checkout(client)
    assert Order.objects.get().hold == Order.Hold.REVIEW_NEW_CLIENT


def test_a_product_set_up_by_hand_says_so_after_payment(client, admin_client, plan, django_capture_on_commit_callbacks):
    plan.auto_accept_on_payment = False
    plan.save()
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    add_to_cart(client, plan)
    checkout(client)
    order = Order.objects.get()
    pay(order.invoice, django_capture_on_commit_callbacks)
    assert "this product is set up by hand" in client.get(f"/store/orders/{order.pk}/").content.decode()
    staff_list = admin_client.get("/admin/billing/order/").content.decode()
    assert "Waiting for our staff to set it up (this product is set up by hand)." in staff_list


def test_a_price_changed_while_the_cart_is_open_is_requoted_and_never_charged_silently(client, plan):
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    add_to_cart(client, plan)
    seen = client.get("/store/checkout/").context["quote"].total
    assert seen == Decimal("15.00")
    ProductPrice.objects.filter(product=plan, cycle="monthly").update(price=Decimal("12.00"))
    response = client.post("/store/checkout/", {"expected_total": str(seen)}, follow=True)
    text = response.content.decode()
    assert "The price changed while you were ordering: the order now costs 17.00 USD (was 15.00)" in text
    assert response.context["quote"].total == Decimal("17.00")
    assert not Order.objects.exists() and not Service.objects.exists() and not Invoice.objects.exists()


def test_checkouts_are_rate_limited_per_address(client, plan):
    shop(checkouts_per_hour=1)
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    add_to_cart(client, plan, domain="one.example")
    checkout(client)
    add_to_cart(client, plan, domain="two.example")
    response = checkout(client)
    assert "Too many orders from your address" in response.context["form"].non_field_errors()[0]
    assert Order.objects.count() == 1


def test_the_confirmation_page_of_another_clients_order_is_404(client, plan):
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    add_to_cart(client, plan)
    checkout(client)
    order = Order.objects.get()
    client.force_login(ClientFactory().owner_user)
    assert client.get(f"/store/orders/{order.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/store/orders/{order.pk}/").status_code == 302


def test_staff_see_the_sign_up_source_terms_and_verification_on_the_client(client, admin_client, plan):
    shop(terms_version="2026-11")
    client.post("/store/signup/", signup_data())
    created = Client.objects.get()
    page = admin_client.get(f"/admin/portal/client/{created.pk}/change/").content.decode()
    assert "storefront" in page and "2026-11" in page
    assert admin_client.get("/admin/portal/client/?email_verification_pending__exact=1").context["cl"].result_count == 1
