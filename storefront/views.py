"""The public storefront: catalogue, configure, cart, sign-up or sign-in, checkout ending in a payment, e-mail
verification and the order's confirmation page. Views only read through selectors and write through services;
bad input comes back next to its field, never as a 500."""
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing.pricing import price, resolve_selections
from billing.services.orders import pricing_products, quote_order
from billing.services.promotions import check_promotion, find_promotion
from billing.forms import option_values
from payments import services as payments
from payments.gateways.base import GatewayError
from payments.registry import enabled_gateways
from portal import selectors as portal_selectors
from portal.activity import Actor
from portal.forms import apply_errors
from portal.models import ActivityLog
from portal.network import client_ip
from portal.views import client_required
from storefront import cart as carts
from storefront import selectors, services
from storefront.credit import credit_advice
from storefront.forms import CheckoutForm, ConfigureForm, PromotionForm, SignupForm
from storefront.models import StorefrontSettings


def _client(request):
    client = portal_selectors.client_for_user(request.user)
    if client is not None:
        request.client = client  # the layout shows the client's menu
    return client


def _currency(request, cart, client):
    """The client's own currency once signed in; before, the visitor's choice among those the portal sells in."""
    offered = selectors.currencies()
    if client is not None:
        return client.currency, offered
    chosen = request.GET.get("currency") or cart.currency
    if chosen not in offered:
        chosen = settings.DEFAULT_CURRENCY if settings.DEFAULT_CURRENCY in offered else (offered[0] if offered else settings.DEFAULT_CURRENCY)
    if chosen != cart.currency:
        cart.currency = chosen
        carts.save(request, cart)
    return chosen, offered


def catalogue(request):
    cart = carts.load(request)
    client = _client(request)
    currency, offered = _currency(request, cart, client)
    return render(request, "storefront/catalogue.html", {
        "groups": selectors.catalogue(currency), "currency": currency, "currencies": offered, "cart": cart,
    })


def _cycle_totals(product, options, values, currency):
    """[(ProductPrice, Price)] of every cycle the product sells in, with the chosen option values (no query)."""
    try:
        selections = resolve_selections(options=options, values=values)
    except ValidationError:
        selections = resolve_selections(options=options, values={})
    return [(pp, price(product_price=pp, selections=selections, cycle=pp.cycle, currency=currency))
            for pp in selectors.cycles_default_first(product, currency)]


@require_http_methods(["GET", "POST"])
def configure(request, product_id):
    cart = carts.load(request)
    client = _client(request)
    currency, _ = _currency(request, cart, client)
    product = selectors.catalogue_product(product_id)
    options = list(product.config_options.all())
    form = ConfigureForm(request.POST or None, options=options, currency=currency,
                         cycle_totals=_cycle_totals(product, options, {}, currency))
    if request.method == "POST" and form.is_valid():
        values = {code: value for code, value in option_values(form.cleaned_data).items() if value not in (None, "")}
        data = form.cleaned_data
        item = carts.CartItem("", product.pk, data["domain"], data["cycle"], values, data["quantity"])
        try:
            quote_order(items=cart.order_items() + [item.order_item()], currency=currency,
                        products=pricing_products([i.product for i in cart.items] + [product.pk]))
        except ValidationError as exc:
            index = len(cart.items)
            apply_errors(form, ValidationError(getattr(exc, "item_errors", {}).get(index) or exc.messages))
        else:
            carts.add(request, cart, product=product.pk, domain=data["domain"], cycle=data["cycle"], options=values,
                      quantity=data["quantity"])
            messages.success(request, f"{product.name} for {data['domain']} is in your cart.")
            return redirect("storefront:cart")
    values = option_values(form.cleaned_data) if form.is_bound and hasattr(form, "cleaned_data") else {}
    return render(request, "storefront/configure.html", {
        "product": product, "form": form, "currency": currency, "cart": cart,
        "cycle_totals": _cycle_totals(product, options, values, currency),
    })


def _promotion(cart, client):
    """The cart's promotion (None without a code) and the error that refuses it, if any."""
    if not cart.promotion:
        return None, ""
    try:
        promotion = find_promotion(cart.promotion)
        check_promotion(promotion, client=client)
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    return promotion, ""


def _quote(cart, currency, client):
    """(quote or None, {item index: messages}, promotion error)."""
    promotion, promotion_error = _promotion(cart, client)
    if not cart.items:
        return None, {}, promotion_error
    try:
        return quote_order(items=cart.order_items(), currency=currency, client=client, promotion=promotion), {}, promotion_error
    except ValidationError as exc:
        errors = exc.message_dict
        if "promotion" in errors and len(errors) == 1:
            quote, item_errors, _ = _quote(carts.Cart(cart.currency, "", cart.items), currency, client)
            return quote, item_errors, " ".join(errors["promotion"])
        return None, {int(k.split("_")[1]): v for k, v in errors.items() if k.startswith("item_")}, promotion_error


@require_http_methods(["GET", "POST"])
def cart_view(request):
    cart = carts.load(request)
    client = _client(request)
    currency, offered = _currency(request, cart, client)
    promotion_form = PromotionForm(initial={"code": cart.promotion})
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "remove":
            try:
                carts.remove(request, cart, request.POST.get("item", ""))
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            return redirect("storefront:cart")
        if action == "promotion":
            promotion_form = PromotionForm(request.POST)
            if promotion_form.is_valid():
                try:
                    find_promotion(promotion_form.cleaned_data["code"])
                except ValidationError as exc:
                    apply_errors(promotion_form, ValidationError({"code": exc.message_dict["promotion"]}))
                else:
                    cart.promotion = promotion_form.cleaned_data["code"].strip().upper()
                    carts.save(request, cart)
                    return redirect("storefront:cart")
        if action == "remove_promotion":
            cart.promotion = ""
            carts.save(request, cart)
            return redirect("storefront:cart")
    quote, item_errors, promotion_error = _quote(cart, currency, client)
    if promotion_error:
        promotion_form.errors.setdefault("code", promotion_form.error_class()).append(promotion_error)
    names = {} if quote else {p.pk: p.name for p in pricing_products(i.product for i in cart.items).values()}
    rows = [(item, quote.items[n] if quote else None, names.get(item.product, ""), item_errors.get(n, []))
            for n, item in enumerate(cart.items)]
    return render(request, "storefront/cart.html", {
        "cart": cart, "rows": rows, "quote": quote,
        "promotion_form": promotion_form, "currency": currency, "currencies": offered,
    })


@require_http_methods(["GET", "POST"])
def signup(request):
    """Sign-up at checkout: the client and its owner login, then signed in with the cart kept."""
    if _client(request) is not None:
        return redirect("storefront:checkout")
    cart = carts.load(request)
    shop = StorefrontSettings.load()
    form = SignupForm(request.POST or None, terms_version=shop.terms_version, terms_url=shop.terms_url)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_rate("signup", client_ip(request))
            client = services.signup(
                actor=_visitor(form.cleaned_data["email"], request),
                password=form.cleaned_data["password1"], terms_accepted=form.cleaned_data["accept_terms"],
                currency=cart.currency or settings.DEFAULT_CURRENCY, **form.client_fields(),
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            user = client.users.get(is_owner=True).user
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["storefront_signed_up"] = True
            if client.email_verification_pending:
                messages.info(request, f"Welcome! We sent a confirmation link to {client.email}.")
            return redirect("storefront:checkout")
    return render(request, "storefront/signup.html", {"form": form, "cart": cart, "shop": shop})


def _gateways():
    return [(key, name) for key, name in enabled_gateways()]


@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = carts.load(request)
    client = _client(request)
    if not cart.items:
        messages.info(request, "Your cart is empty.")
        return redirect("storefront:catalogue")
    if client is None:
        return render(request, "storefront/checkout_account.html", {
            "cart": cart, "login_url": reverse("clientarea:login") + "?next=" + reverse("storefront:checkout"),
        })
    currency, _ = _currency(request, cart, client)
    quote, item_errors, promotion_error = _quote(cart, currency, client)
    if quote is None or promotion_error:
        messages.error(request, promotion_error or "Some items in your cart need your attention.")
        return redirect("storefront:cart")
    advice = credit_advice(client, quote.total)
    form = CheckoutForm(request.POST or None, advice=advice, gateways=_gateways(),
                        initial={"expected_total": quote.total})
    if request.method == "POST" and form.is_valid():
        try:
            services.check_rate("checkout", client_ip(request))
            result = services.place_order(
                client=client, cart_items=cart.order_items(), quote=_quote_at(form, quote),
                promotion=quote.promotion, apply_credit=form.cleaned_data["use_credit"],
                actor=Actor.from_request(request), ip_address=client_ip(request),
                signed_up=request.session.get("storefront_signed_up", False),
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            # Nothing was created. The page shows the order as it is now (a changed price re-quoted).
            messages.error(request, " ".join(exc.messages))
            return redirect("storefront:checkout")
        else:
            carts.clear(request)
            request.session.pop("storefront_signed_up", None)
            return _pay(request, result, form.cleaned_data.get("gateway"))
    return render(request, "storefront/checkout.html", {
        "cart": cart, "quote": quote, "form": form, "advice": advice, "client": client, "currency": currency,
    })


def _quote_at(form, quote):
    """The quote with the total the client saw on the page: order_place refuses the order when it differs."""
    quote.total = form.cleaned_data["expected_total"]
    return quote


def _pay(request, result, gateway):
    invoice = result.invoice
    done = reverse("storefront:order_done", args=[result.order.pk])
    if invoice.balance <= 0 or not gateway:
        return redirect(done if invoice.balance <= 0 else reverse("clientarea:invoice", args=[invoice.pk]))
    try:
        url = payments.checkout_start(
            invoice=invoice, gateway_key=gateway, actor=Actor.from_request(request),
            success_url=request.build_absolute_uri(done) + f"?gateway={gateway}&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=request.build_absolute_uri(done) + "?payment=cancelled",
        )
    except (ValidationError, GatewayError) as exc:
        messages.error(request, f"Your order is placed, but the payment could not be started ({exc}). "
                                "You can pay the invoice from this page.")
        return redirect(done)
    return redirect(url)


@client_required
def order_done(request, order_id):
    """The confirmation page: back from the payment (confirmed with the gateway, never the browser)."""
    order = selectors.client_order(request.client, order_id)
    gateway, reference = request.GET.get("gateway", ""), request.GET.get("session_id", "")
    if gateway and reference:
        try:
            payments.checkout_confirm(client=request.client, gateway_key=gateway, reference=reference,
                                      actor=Actor.from_request(request))
        except (ValidationError, GatewayError):
            messages.warning(request, "We could not confirm the payment yet; if you paid, it shows here shortly.")
        order = selectors.client_order(request.client, order_id)
    if request.GET.get("payment") == "cancelled":
        messages.info(request, "The payment was cancelled. Your order waits for it: pay the invoice below.")
    rows = [(s, services.pending_reason(order, s)) for s in order.services.all()]
    return render(request, "storefront/order_done.html", {"order": order, "rows": rows,
                                                          "gateways": _gateways()})


def verify_email(request, token):
    try:
        client = services.client_from_token(token)
    except ValidationError as exc:
        return render(request, "storefront/verify_email.html", {"error": " ".join(exc.messages)}, status=400)
    if request.method == "POST":
        client, released = services.verify_email(client=client, actor=_visitor(client.email, request))
        return render(request, "storefront/verify_email.html", {"client": client, "done": True, "released": released})
    return render(request, "storefront/verify_email.html", {"client": client, "token": token})


@require_POST
@client_required
def resend_verification(request):
    if request.client.email_verification_pending:
        try:
            services.check_rate("signup", client_ip(request))
        except services.RateLimited as exc:
            messages.error(request, str(exc))
        else:
            services.send_verification(request.client)
            messages.success(request, f"We sent a new confirmation link to {request.client.email}.")
    return redirect("storefront:checkout")


def _visitor(label, request):
    """The actor of a sign-up or a verification link: the client, before (or without) a signed-in session."""
    return Actor(ActivityLog.ActorType.CLIENT, label[:150], None, None, client_ip(request))
