"""Storefront writes: signing up at checkout, verifying the e-mail address, and placing the cart's order
(billing.services.orders.order_place, the one order path) with its hold decided by the review rules. Each
writes the audit log with the acting user."""
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Order, Service
from billing.services.orders import order_place, order_release
from portal.activity import log_activity
from portal.models import Client
from portal.network import over_limit
from portal.services import client_create
from storefront.models import StorefrontSettings

VERIFY_SALT = "storefront.verify-email"
VERIFY_MAX_AGE = 7 * 24 * 3600
SIGNUP_SOURCE = "storefront"


class RateLimited(Exception):
    """Too many sign-ups or checkouts from one address in the hour."""


def check_rate(kind, ip):
    """Count a sign-up or checkout attempt from `ip`; RateLimited past the hourly limit in the settings."""
    shop = StorefrontSettings.load()
    limit = shop.signups_per_hour if kind == "signup" else shop.checkouts_per_hour
    if over_limit(f"storefront-{kind}:{ip}", limit, seconds=3600):
        raise RateLimited(f"Too many {'sign-ups' if kind == 'signup' else 'orders'} from your address in the last "
                          "hour. Please try again later or contact us.")


def verification_link(client):
    token = signing.dumps({"client": client.pk, "email": client.email.lower()}, salt=VERIFY_SALT)
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("storefront:verify_email", args=[token])


def send_verification(client):
    """The e-mail with the confirmation link, sent once the sign-up commits."""
    body = (f"Dear {client.first_name},\n\nPlease confirm your e-mail address for {settings.PORTAL_NAME} by opening "
            f"this link:\n\n{verification_link(client)}\n\nYour order is set up once the address is confirmed.\n\n"
            f"{settings.PORTAL_NAME}\n")
    transaction.on_commit(lambda: send_mail(f"Confirm your e-mail address – {settings.PORTAL_NAME}", body,
                                            settings.DEFAULT_FROM_EMAIL, [client.email]))


@transaction.atomic
def signup(*, actor, password, terms_accepted, currency, **fields):
    """A new client and its owner login, from the storefront's sign-up form: terms version and time recorded,
    and, when the settings ask for it, the address to be verified before its orders are set up."""
    shop = StorefrontSettings.load()
    if not terms_accepted:
        raise ValidationError({"accept_terms": "Please accept the terms to open an account."})
    client = client_create(actor=actor, password=password, currency=currency, **fields)
    client.signup_source = SIGNUP_SOURCE
    client.terms_version, client.terms_accepted_at = shop.terms_version, timezone.now()
    client.email_verification_pending = shop.require_email_verification
    client.save(update_fields=["signup_source", "terms_version", "terms_accepted_at", "email_verification_pending"])
    log_activity(actor=actor, action="client.signup", target=client,
                 message=f"Signed up in the storefront, accepted the terms (version {shop.terms_version})",
                 data={"terms_version": shop.terms_version, "verification": client.email_verification_pending})
    if client.email_verification_pending:
        send_verification(client)
    return client


def client_from_token(token):
    """The client a verification link is for, or ValidationError (tampered, expired, address changed since)."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("This confirmation link has expired. Sign in and ask for a new one.") from None
    except signing.BadSignature:
        raise ValidationError("This confirmation link is not valid.") from None
    client = Client.objects.filter(pk=data.get("client")).first()
    if client is None or client.email.lower() != data.get("email"):
        raise ValidationError("This confirmation link is not valid any more: the e-mail address has changed.")
    return client


@transaction.atomic
def verify_email(*, client, actor):
    """Mark the address verified and release the client's orders that waited for it (their paid services are
    then created as on payment). Verifying twice changes nothing."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if not client.email_verification_pending:
        return client, []
    client.email_verification_pending, client.email_verified_at = False, timezone.now()
    client.save(update_fields=["email_verification_pending", "email_verified_at"])
    log_activity(actor=actor, action="client.email_verified", target=client, message=f"E-mail {client.email} verified")
    waiting = list(Order.objects.filter(client=client, hold=Order.Hold.EMAIL_UNVERIFIED))
    for order in waiting:
        order_release(order=order, actor=actor, reason="e-mail address verified")
    return client, waiting


def order_hold(client, quote):
    """Why a new order waits (Order.Hold): unverified e-mail first, then the staff review rules."""
    shop = StorefrontSettings.load()
    if client.email_verification_pending and shop.require_email_verification:
        return Order.Hold.EMAIL_UNVERIFIED
    if shop.review_orders_above is not None and quote.total > shop.review_orders_above:
        return Order.Hold.REVIEW_AMOUNT
    if shop.review_new_client_orders and client.signup_source == SIGNUP_SOURCE \
            and not Service.objects.filter(client=client).exists():
        return Order.Hold.REVIEW_NEW_CLIENT
    return Order.Hold.NONE


def place_order(*, client, cart_items, quote, promotion, apply_credit, actor, ip_address, signed_up):
    """The cart's order at the total the client saw (`quote.total`; a changed price refuses it, re-quoted)."""
    source = Order.Source.STOREFRONT_SIGNUP if signed_up else Order.Source.STOREFRONT
    return order_place(client=client, items=cart_items, actor=actor, source=source, promotion=promotion,
                       apply_credit=apply_credit, expected_total=quote.total, hold=order_hold(client, quote),
                       ip_address=ip_address)


def pending_reason(order, service):
    """What a service of an order waits for, as the confirmation page and the staff say it; "" when nothing."""
    if service.status != Service.Status.PENDING:
        return ""
    if order.invoice and order.invoice.status == order.invoice.Status.UNPAID:
        return "Waiting for payment."
    if order.hold == Order.Hold.EMAIL_UNVERIFIED:
        return "Waiting for you to confirm your e-mail address (we sent you a link)."
    if order.hold:
        return f"Waiting for review by our staff ({order.get_hold_display().lower()})."
    if not service.product.auto_accept_on_payment:
        return "Waiting for our staff to set it up (this product is set up by hand)."
    return "Being set up."
