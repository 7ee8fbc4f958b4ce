"""Two-factor pages (portal.two_factor, docs/two-factor.md): the code step of signing in, and the page where a
signed-in user turns two-factor on, sees it, makes new recovery codes or turns it off. Each serves both areas:
the client area (Bootstrap templates, portal/urls_clientarea.py) and the staff area (admin templates, wired by
config.admin_site with the admin's context)."""
import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice

from portal import selectors, two_factor
from portal.activity import Actor
from portal.forms import TwoFactorCodeForm
from portal.views import client_required

AREAS = {
    "client": {"manage": "portal/two_factor.html", "verify": "portal/two_factor_verify.html",
               "login": "clientarea:login", "page": "clientarea:two_factor", "home": "clientarea:dashboard"},
    "staff": {"manage": "admin/two_factor.html", "verify": "admin/two_factor_verify.html",
              "login": "admin:login", "page": "admin:two_factor", "home": "admin:index"},
}


@sensitive_post_parameters("code")
@never_cache
def verify(request, area, context=None):
    """The code step: for a sign-in waiting after its password, or for a signed-in session that has not passed
    two-factor yet (the staff area sends those here)."""
    config = AREAS[area]
    pending = two_factor.pending_sign_in(request)
    if pending is not None:
        user, backend, next_url = pending
    elif request.user.is_authenticated and not two_factor.session_verified(request) \
            and two_factor.has_two_factor(request.user):
        user, backend, next_url = request.user, None, _safe_next(request, config)
    else:
        return redirect(config["login"])
    if request.method == "POST" and "cancel" in request.POST:
        two_factor.cancel_sign_in(request)
        return redirect(config["login"])
    form = TwoFactorCodeForm(request.POST or None, submit_label="Sign in")
    if two_factor.locked_out(request, user):
        form = None  # AxesMiddleware answers with the lockout page
    elif request.method == "POST" and form.is_valid():
        device = two_factor.check_code(user=user, code=form.cleaned_data["code"], request=request,
                                       actor=two_factor.actor_for(user, request), client=selectors.client_for_user(user))
        if device is not None:
            if backend is not None:
                two_factor.cancel_sign_in(request)
                auth_login(request, user, backend=backend)
            two_factor.mark_verified(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(request, f"You signed in with a recovery code; {two_factor.recovery_codes_left(user)} "
                                          f"left. Make new ones on the two-factor page if you are running out.")
            return redirect(next_url)
        form.add_error("code", two_factor.WRONG_CODE)
    return render(request, config["verify"], {**(context or {}), "form": form, "username": user.get_username(),
                                              "title": "Two-factor sign-in"})


def _safe_next(request, config):
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(config["home"])


@sensitive_post_parameters("code")
@never_cache
def manage(request, area, context=None):
    """Set up (QR code, secret as text, confirm with a code; then the recovery codes, shown once), or, when on:
    its state, new recovery codes, turning it off. Both of those need a current code."""
    config = AREAS[area]
    if getattr(request, "impersonator", None) is not None:
        messages.error(request, "Only the client can change their two-factor sign-in, not staff logged in as them.")
        return redirect(config["home"])
    user, client, actor = request.user, getattr(request, "client", None), Actor.from_request(request)
    action = request.POST.get("action") if request.method == "POST" else None
    page = {**(context or {}), "title": "Two-factor sign-in", "area": area,
            "required": area == "staff" and two_factor.staff_required()}
    device = two_factor.enabled_device(user)
    if device is None:
        setup = two_factor.setup_device(user)
        form = TwoFactorCodeForm(request.POST if action == "confirm" else None, submit_label="Turn on",
                                 help_text="The 6-digit code the app shows for the account you just added.")
        if action == "confirm" and form.is_valid():
            try:
                device, codes = two_factor.confirm_setup(user=user, device=setup, code=form.cleaned_data["code"],
                                                         actor=actor, client=client)
            except ValidationError as exc:
                form.add_error("code", exc.messages)
            else:
                two_factor.mark_verified(request, device)  # the code just proved it: this session passed
                return render(request, config["manage"], {**page, "codes": codes, "just_enabled": True})
        return render(request, config["manage"], {
            **page, "form": form, "secret": two_factor.secret_for_display(setup),
            "qr_svg": mark_safe(segno.make(setup.config_url, error="m").svg_inline(scale=4, title="QR code")),
        })
    form = TwoFactorCodeForm(request.POST if action in ("regenerate", "disable") else None,
                             help_text="A current code from your authenticator app (or a recovery code).")
    if action in ("regenerate", "disable") and form.is_valid():
        if two_factor.check_code(user=user, code=form.cleaned_data["code"], actor=actor, client=client) is None:
            form.add_error("code", two_factor.WRONG_CODE)
        elif action == "disable":
            two_factor.disable(user=user, actor=actor, client=client)
            messages.success(request, "Two-factor sign-in is off. You sign in with your password alone.")
            return redirect(config["page"])
        else:
            codes = two_factor.regenerate_recovery_codes(user=user, actor=actor, client=client)
            return render(request, config["manage"], {**page, "codes": codes, "device": device})
    return render(request, config["manage"], {**page, "device": device, "form": form,
                                              "codes_left": two_factor.recovery_codes_left(user)})


@client_required
def client_manage(request):
    return manage(request, "client")


def client_verify(request):
    return verify(request, "client")
