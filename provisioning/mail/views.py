"""The mail client area's pages (seed 003): the e-mail dashboard with its icon menu and sidebar, Accounts (list
with quota use, add, edit, password, delete with typed confirmation, Webmail and Control Panel single sign-on,
Manage: the mailbox's type with the prorated amount shown before saving), Aliases, Forwarding, Distribution
Lists, DKIM Setup, Branding, Domain Aliases and the DNS guide. What the service's module cannot do is not
linked, and its page answers 404.

Every page loads the service through selectors.mail_context (scoped to the signed-in client); every change goes
through services.py, which calls the provider first and records and audits only what it accepted. Provider
errors reach the customer through errors.customer_error, next to the form field they concern."""
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from billing.services.changes import pending_message
from portal.activity import Actor
from portal.forms import apply_errors
from portal.views import client_required
from provisioning.mail import forms, plan, selectors, services
from provisioning.mail.errors import add_to_form, customer_error
from provisioning.mail.services import MailRefused
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.modules.mailboxes import MAILBOX_CONTROL_PANEL, BrandingChanges, Reason

SSO_TARGETS = {"webmail": (SsoTarget.WEBMAIL, "Webmail"), "control_panel": (MAILBOX_CONTROL_PANEL, "Control Panel")}


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    icon: str
    url: str
    hint: str = ""


def mail_menu(ctx):
    """The dashboard's icons and the sidebar: only what this service's module and plan offer."""
    f, pk = ctx.features, ctx.service.pk

    def url(name):
        return reverse(f"clientarea:{name}", args=[pk])

    items = [
        MenuItem("accounts", "Accounts", "bi-people", url("mail_accounts"), "Create and manage mailboxes"),
        f["aliases"] and MenuItem("aliases", "Aliases", "bi-at", url("mail_aliases"), "Extra addresses"),
        f["forwarding"] and MenuItem("forwarding", "Forwarding", "bi-share", url("mail_forwarding"), "Send mail on"),
        f["lists"] and MenuItem("lists", "Distribution Lists", "bi-list-ul", url("mail_lists"), "Group addresses"),
        f["dkim"] and MenuItem("dkim", "DKIM Setup", "bi-key", url("mail_dkim"), "Sign your mail"),
        f["branding"] and MenuItem("branding", "Branding", "bi-brush", url("mail_branding"), "Your webmail's look"),
        f["domain_aliases"] and MenuItem("domain_aliases", "Domain Aliases", "bi-diagram-3", url("mail_domain_aliases"),
                                         "More domains, same mailboxes"),
        MenuItem("dns", "DNS Guide", "bi-signpost-split", url("mail_dns"), "Records to publish"),
        f["upgrade"] and MenuItem("upgrade", "Upgrade/Downgrade", "bi-arrow-up-circle", url("service_change"),
                                  "More mailboxes or another plan"),
        f["cancel"] and MenuItem("cancel", "Request Cancellation", "bi-x-circle", url("service_cancel"),
                                 "End this service"),
    ]
    return [item for item in items if item]


def mail_page(*, feature=None, methods=("GET", "POST")):
    """A mail page: a signed-in client's own mail service (else 404), with the module able to do `feature`."""

    def decorate(view):
        @client_required
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request, mail_service_id, **kwargs):
            ctx = selectors.mail_context(request.client, mail_service_id)
            if feature is not None and not ctx.features[feature]:
                raise Http404("This mail service does not offer that.")
            if not ctx.live and view.__name__ != "dashboard":
                messages.info(request, f"{ctx.domain} is {ctx.service.get_status_display().lower()}.")
                return redirect("clientarea:mail_dashboard", ctx.service.pk)
            return view(request, ctx, **kwargs)

        return wrapper

    return decorate


def show(request, ctx, template, section, **context):
    return render(request, f"provisioning/mail/{template}", {
        "ctx": ctx, "service": ctx.service, "features": ctx.features, "menu": mail_menu(ctx), "section": section,
        **context,
    })


def actor(request):
    return Actor.from_request(request)


def attempt(request, change, *, form=None, what="it", field_map=None, texts=None):
    """Run a service write; put any refusal where the customer sees it (next to the field when it has one).
    Returns (result, True) on success, (None, False) otherwise."""
    try:
        return change(), True
    except MailRefused as exc:
        if form is not None and exc.field in (form.fields if form else ()):
            form.add_error(exc.field, exc.message)
        else:
            messages.error(request, exc.message)
    except ValidationError as exc:  # billing refused (amounts moved, plan has no such type, service not active)
        if form is not None:
            apply_errors(form, exc)
        else:
            messages.error(request, " ".join(exc.messages))
    except ModuleError as exc:
        error = customer_error(exc, what=what, call=getattr(exc, "call", None), texts=texts)
        if form is not None:
            add_to_form(form, error, field_map)
        else:
            messages.error(request, error.message)
    return None, False


def provider_data(request, ctx, read, *, default=None, what="it", **arguments):
    """A read from the provider for a page (`read(ctx, **arguments)`, one of the services' named reads); on failure
    the page still shows, with the reason on top."""
    try:
        return read(ctx, **arguments), None
    except ModuleError as exc:
        if getattr(exc, "reason", "") == Reason.NOT_FOUND:
            raise Http404(f"No such {what}.") from None
        return default, customer_error(exc, what=what, call=getattr(exc, "call", None)).message


def mailbox_records(request, ctx):
    """The provider's mailboxes reconciled into the portal's records: (records, error or None)."""
    mailboxes, error = provider_data(request, ctx, services.mailboxes_list)
    if error is not None:
        return list(selectors.mailbox_records(ctx.service)), error
    return services.reconcile_mailboxes(ctx, mailboxes=mailboxes), None


def usage_summary(ctx, records):
    """{type: count} of the listed mailboxes, and the plan figures (allowed and used) from the allowance."""
    counts = {}
    for record in records:
        counts[record.mailbox_type] = counts.get(record.mailbox_type, 0) + 1
    kinds = [{"label": label, "code": code, "used": used, "limit": limit}
             for label, code, used, limit in ctx.allowance.usage(counts)]
    return counts, kinds


def done(request, message, url_name, *args):
    messages.success(request, message)
    return redirect(f"clientarea:{url_name}", *args)


def form_page(request, ctx, form, change, *, success, then, what, template="form_page.html", **context):
    """A page with one form whose valid POST makes one change: on success back to the `then` page (a section's
    URL name) with the `success` message; otherwise the form again, with the refusal next to its field."""
    if request.method == "POST" and form.is_valid():
        _, ok = attempt(request, lambda: change(form.cleaned_data), form=form, what=what)
        if ok:
            return done(request, success, then, ctx.service.pk)
    return show(request, ctx, template, then.removeprefix("mail_"), form=form, **context)


# --- the dashboard and the DNS guide ----------------------------------------------------------------------------------

@mail_page()
def dashboard(request, ctx):
    records, error = mailbox_records(request, ctx) if ctx.live else (list(selectors.mailbox_records(ctx.service)), None)
    _, kinds = usage_summary(ctx, records)
    return show(request, ctx, "dashboard.html", "dashboard", records=records, kinds=kinds, error=error,
                webmail_url=plan.webmail_url(ctx.service, ctx.options))


@mail_page()
def dns_guide(request, ctx):
    dkim, error = None, None
    if ctx.features["dkim"]:
        dkim, error = provider_data(request, ctx, services.dkim_get)
    return show(request, ctx, "dns.html", "dns", records=plan.dns_guide(ctx.service, ctx.options, dkim), dkim=dkim,
                error=error, connections=plan.connection_settings(ctx.service, ctx.options),
                webmail_url=plan.webmail_url(ctx.service, ctx.options))


# --- accounts ---------------------------------------------------------------------------------------------------

@mail_page()
def accounts(request, ctx):
    records, error = mailbox_records(request, ctx)
    counts, kinds = usage_summary(ctx, records)
    full_message = ctx.allowance.full_notice(counts)
    return show(request, ctx, "accounts.html", "accounts", records=records, kinds=kinds, error=error,
                can_add=not full_message, full_message=full_message)


@mail_page()
def account_add(request, ctx):
    records, error = mailbox_records(request, ctx)  # the plan's count is checked against the provider's list
    counts, _ = usage_summary(ctx, records)
    form = forms.MailboxCreateForm(request.POST or None, ctx=ctx, initial={"counts": counts})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record, ok = attempt(request, lambda: services.mailbox_create(
            ctx, actor=actor(request), local_part=data["local_part"], password=data["password"], name=data["name"],
            quota_mb=data["quota_mb"], mailbox_type=data.get("mailbox_type", "")), form=form,
            field_map={"address": "local_part"})
        if ok:
            return done(request, f"Mailbox {record.address} created.", "mail_accounts", ctx.service.pk)
    return show(request, ctx, "account_form.html", "accounts", form=form, title="Add mailbox",
                full_message=ctx.allowance.full_notice(counts), error=error)


@mail_page()
def account_edit(request, ctx, mailbox):
    record = selectors.mailbox_record(ctx, mailbox)
    initial = {"name": record.name, "quota_mb": record.quota_mb, "enabled": record.enabled}
    form = forms.MailboxEditForm(request.POST or None, ctx=ctx, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {key: data[key] for key in form.changed_data if key in ("name", "quota_mb", "enabled")}
        if changes.get("quota_mb", 0) is None:
            changes.pop("quota_mb")
        if not changes:
            return done(request, "Nothing changed.", "mail_accounts", ctx.service.pk)
        _, ok = attempt(request, lambda: services.mailbox_update(ctx, actor=actor(request), record=record, **changes),
                        form=form, what=record.address)
        if ok:
            return done(request, f"Mailbox {record.address} saved.", "mail_accounts", ctx.service.pk)
    return show(request, ctx, "account_form.html", "accounts", form=form, record=record,
                title=f"Update account {record.address}")


@mail_page()
def account_password(request, ctx, mailbox):
    record = selectors.mailbox_record(ctx, mailbox)
    form = forms.MailboxPasswordForm(request.POST or None, ctx=ctx)
    return form_page(
        request, ctx, form,
        lambda data: services.mailbox_set_password(ctx, actor=actor(request), record=record, password=data["password"]),
        success=f"The password of {record.address} was changed.", then="mail_accounts", what=record.address,
        template="account_form.html", record=record, title=f"Change the password of {record.address}")


@mail_page()
def account_delete(request, ctx, mailbox):
    record = selectors.mailbox_record(ctx, mailbox)
    form = forms.TypedConfirmForm(request.POST or None, ctx=ctx, expected=record.address)
    return form_page(
        request, ctx, form, lambda data: services.mailbox_delete(ctx, actor=actor(request), record=record),
        success=f"Mailbox {record.address} was deleted.", then="mail_accounts", what=record.address,
        title=f"Delete {record.address}", back=reverse("clientarea:mail_accounts", args=[ctx.service.pk]),
        warning=f"This deletes the mailbox {record.address} and all its mail at once. It cannot be undone.")


@mail_page()
def account_manage(request, ctx, mailbox):
    """Seed 003's "Update account": change the mailbox's type; the prorated amount is shown before saving."""
    record = selectors.mailbox_record(ctx, mailbox)
    allowance = ctx.allowance
    blocked = ""
    if not allowance.changeable:
        blocked = ("Your plan has one kind of mailbox, so there is no type to change. Upgrade/Downgrade changes the "
                   "whole plan.")
    elif record.mailbox_type not in {kind.code for kind in allowance.types}:
        blocked = "This mailbox has no type in your plan; contact support to sort it out."
    elif ctx.service.pending_change:
        blocked = pending_message(ctx.service.pending_change)
    form = forms.MailboxTypeForm(request.POST or None, ctx=ctx, current=record.mailbox_type)
    quote = None
    if request.method == "POST" and not blocked and form.is_valid():
        to_type = form.cleaned_data["to_type"]
        if request.POST.get("action") == "confirm":
            change, ok = attempt(
                request,
                lambda: services.mailbox_change_type(
                    ctx,
                    actor=actor(request),
                    record=record,
                    to_type=to_type,
                    expected_amount=request.POST.get("expected_amount"),
                ),
                form=form,
                what=record.address,
            )
            if ok:
                return done(
                    request, _type_changed_message(ctx, record, to_type, change), "mail_accounts", ctx.service.pk
                )
        else:
            quote, _ = attempt(request, lambda: services.mailbox_type_quote(ctx, record=record, to_type=to_type),
                               form=form)
    return show(request, ctx, "account_manage.html", "accounts", form=form, record=record, quote=quote, blocked=blocked,
                current_label=allowance.label(record.mailbox_type) if record.mailbox_type else "—")


def _type_changed_message(ctx, record, to_type, change):
    text = f"{record.address} is now {ctx.allowance.label(to_type)}."
    if change.invoice is not None:
        amount = f"{change.quote.amount} {ctx.service.currency}"
        return f"{text} Invoice {change.invoice} bills {amount} for the rest of the period."
    if change.credit is not None:
        return f"{text} {-change.quote.amount} {ctx.service.currency} was added to your credit."
    return text


@mail_page()
@never_cache
def account_sso(request, ctx, mailbox, target_key):
    """Webmail or Control Panel: POST (from the list's button, opening a new tab) redirects to the provider's
    one-minute login link; GET shows the button, for visitors who arrive by address."""
    target, label = SSO_TARGETS[target_key]
    if not ctx.features[target_key]:
        raise Http404(f"This mail service has no {label} login.")
    record = selectors.mailbox_record(ctx, mailbox)
    if request.method == "POST":
        url, ok = attempt(request, lambda: services.mailbox_sso_url(ctx, actor=actor(request), record=record, target=target),
                          what=record.address)
        if ok:
            response = HttpResponseRedirect(url)
            response["Referrer-Policy"] = "no-referrer"
            return response
    return show(request, ctx, "sso.html", "accounts", record=record, label=label, target_key=target_key)


# --- aliases and forwarding --------------------------------------------------------------------------------------

@mail_page(feature="aliases")
def aliases(request, ctx):
    form = forms.AliasForm(request.POST or None, ctx=ctx)
    if request.method == "POST" and form.is_valid():
        alias, ok = attempt(request, lambda: services.alias_create(
            ctx, actor=actor(request), local_part=form.cleaned_data["local_part"], targets=form.cleaned_data["targets"]),
            form=form, field_map={"address": "local_part"})
        if ok:
            return done(request, f"Alias {alias.address} added.", "mail_aliases", ctx.service.pk)
    rows, error = provider_data(request, ctx, services.aliases_list, default=[])
    return show(request, ctx, "aliases.html", "aliases", aliases=rows, form=form, error=error)


def _alias(request, ctx, local_part):
    address = f"{local_part.lower()}@{ctx.domain}"
    rows, error = provider_data(request, ctx, services.aliases_list, default=[])
    found = next((alias for alias in rows if alias.address == address), None)
    if found is None and error is None:
        raise Http404("No such alias.")
    return found, error


@mail_page(feature="aliases")
def alias_edit(request, ctx, alias):
    found, error = _alias(request, ctx, alias)
    if found is None:
        messages.error(request, error)
        return redirect("clientarea:mail_aliases", ctx.service.pk)
    form = forms.AliasForm(request.POST or None, ctx=ctx, creating=False, initial={"targets": "\n".join(found.targets)})
    return form_page(
        request, ctx, form,
        lambda data: services.alias_update(ctx, actor=actor(request), alias=found, targets=data["targets"]),
        success=f"Alias {found.address} saved.", then="mail_aliases", what=found.address,
        title=f"Alias {found.address}", back=reverse("clientarea:mail_aliases", args=[ctx.service.pk]))


@mail_page(feature="aliases")
def alias_delete(request, ctx, alias):
    found, error = _alias(request, ctx, alias)
    if found is None:
        messages.error(request, error)
        return redirect("clientarea:mail_aliases", ctx.service.pk)
    if request.method == "POST":
        _, ok = attempt(request, lambda: services.alias_delete(ctx, actor=actor(request), address=found.address),
                        what=found.address)
        if ok:
            return done(request, f"Alias {found.address} deleted.", "mail_aliases", ctx.service.pk)
    return show(request, ctx, "form_page.html", "aliases", title=f"Delete the alias {found.address}",
                back=reverse("clientarea:mail_aliases", args=[ctx.service.pk]),
                warning=f"Mail to {found.address} will no longer reach {', '.join(found.targets)}.")


@mail_page(feature="forwarding")
def forwarding(request, ctx):
    rows, error = provider_data(request, ctx, services.forwards_list, default=[])
    return show(request, ctx, "forwarding.html", "forwarding", forwards=rows, error=error)


@mail_page(feature="forwarding")
def forward_edit(request, ctx, mailbox):
    record = selectors.mailbox_record(ctx, mailbox)
    current, error = provider_data(request, ctx, services.forward_get, address=record.address,
                                   what=record.address)
    if current is None:
        messages.error(request, error)
        return redirect("clientarea:mail_forwarding", ctx.service.pk)
    form = forms.ForwardForm(request.POST or None, ctx=ctx, initial={"targets": "\n".join(current.targets),
                                                                     "keep_copy": current.keep_copy})
    if request.method == "POST" and form.is_valid():
        targets = form.cleaned_data["targets"]
        result, ok = attempt(request, lambda: services.forward_set(
            ctx, actor=actor(request), address=record.address, targets=targets,
            keep_copy=form.cleaned_data.get("keep_copy", True)), form=form, what=record.address)
        if ok:
            text = f"{record.address} forwards to {', '.join(result.targets)}." if result.targets else \
                f"Forwarding of {record.address} is off."
            return done(request, text, "mail_forwarding", ctx.service.pk)
    return show(request, ctx, "form_page.html", "forwarding", form=form, title=f"Forwarding of {record.address}",
                back=reverse("clientarea:mail_forwarding", args=[ctx.service.pk]))


# --- distribution lists -----------------------------------------------------------------------------------------

@mail_page(feature="lists")
def lists(request, ctx):
    form = forms.DistributionListForm(request.POST or None, ctx=ctx)
    if request.method == "POST" and form.is_valid():
        made, ok = attempt(request, lambda: services.list_create(
            ctx, actor=actor(request), local_part=form.cleaned_data["local_part"], members=form.cleaned_data["members"]),
            form=form, field_map={"address": "local_part"})
        if ok:
            return done(request, f"Distribution list {made.address} created.", "mail_list", ctx.service.pk,
                        made.address.partition("@")[0])
    rows, error = provider_data(request, ctx, services.lists_list,
                                default=[])
    return show(request, ctx, "lists.html", "lists", lists=rows, form=form, error=error)


@mail_page(feature="lists")
def list_detail(request, ctx, mail_list):
    address = f"{mail_list.lower()}@{ctx.domain}"
    form = forms.ListMemberForm(request.POST if request.POST.get("action") == "add" else None, ctx=ctx)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            member = request.POST.get("member", "")
            _, ok = attempt(request, lambda: services.list_member_remove(ctx, actor=actor(request), address=address,
                                                                         member=member), what=address)
            if ok:
                return done(request, f"{member} removed from {address}.", "mail_list", ctx.service.pk, mail_list)
        elif form.is_valid():
            member = form.cleaned_data["member"]
            _, ok = attempt(request, lambda: services.list_member_add(ctx, actor=actor(request), address=address,
                                                                      member=member), form=form, what=address,
                            field_map={"address": "member"})
            if ok:
                return done(request, f"{member} added to {address}.", "mail_list", ctx.service.pk, mail_list)
    found, error = provider_data(request, ctx, services.list_get, address=address,
                                 what="list")
    return show(request, ctx, "list_detail.html", "lists", mail_list=found, address=address, form=form, error=error,
                local_part=mail_list.lower())


@mail_page(feature="lists")
def list_delete(request, ctx, mail_list):
    address = f"{mail_list.lower()}@{ctx.domain}"
    if request.method == "POST":
        _, ok = attempt(request, lambda: services.list_delete(ctx, actor=actor(request), address=address), what=address)
        if ok:
            return done(request, f"Distribution list {address} deleted.", "mail_lists", ctx.service.pk)
    provider_data(request, ctx, services.list_get, address=address, what="list")
    return show(request, ctx, "form_page.html", "lists", title=f"Delete the list {address}",
                back=reverse("clientarea:mail_list", args=[ctx.service.pk, mail_list.lower()]),
                warning=f"Mail to {address} will no longer reach its members.")


# --- DKIM, branding, domain aliases ------------------------------------------------------------------------------

@mail_page(feature="dkim")
def dkim(request, ctx):
    if request.method == "POST":
        enable = request.POST.get("action") == "enable"
        change = services.dkim_enable if enable else services.dkim_disable
        _, ok = attempt(request, lambda: change(ctx, actor=actor(request)))
        if ok:
            return done(request, "DKIM is on: publish the record below." if enable else "DKIM is off.", "mail_dkim",
                        ctx.service.pk)
    status, error = provider_data(request, ctx, services.dkim_get)
    return show(request, ctx, "dkim.html", "dkim", dkim=status, error=error)


@mail_page(feature="branding")
def branding(request, ctx):
    posted = request.POST if request.POST.get("action") == "save" else None
    form = forms.BrandingForm(posted, request.FILES or None, ctx=ctx)
    if request.method == "POST" and request.POST.get("action") == "reset":
        _, ok = attempt(request, lambda: services.branding_reset(ctx, actor=actor(request)))
        if ok:
            return done(request, "Webmail branding reset to the default.", "mail_branding", ctx.service.pk)
    elif posted is not None and form.is_valid():
        data = form.cleaned_data
        logo, logo_type = data["logo"] or (None, "")
        changes = BrandingChanges(
            brand_name=data["brand_name"],
            support_email=data["support_email"],
            color=data["color"],
            logo=logo,
            logo_type=logo_type,
        )
        _, ok = attempt(request, lambda: services.branding_set(ctx, actor=actor(request), changes=changes), form=form)
        if ok:
            return done(request, "Webmail branding saved.", "mail_branding", ctx.service.pk)
    current, error = provider_data(request, ctx, services.branding_get)
    if posted is None and current is not None:
        form = forms.BrandingForm(ctx=ctx, initial={"brand_name": current.brand_name,
                                                    "support_email": current.support_email,
                                                    "color": current.color or "#1a5fb4"})
    return show(request, ctx, "branding.html", "branding", form=form, branding=current, error=error)


@mail_page(feature="domain_aliases")
def domain_aliases(request, ctx):
    form = forms.DomainAliasForm(request.POST if request.POST.get("action") == "add" else None, ctx=ctx)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            name = request.POST.get("name", "").strip().lower()
            _, ok = attempt(request, lambda: services.domain_alias_remove(ctx, actor=actor(request), name=name), what=name)
            if ok:
                return done(request, f"Domain alias {name} removed.", "mail_domain_aliases", ctx.service.pk)
        elif form.is_valid():
            name = form.cleaned_data["name"]
            taken = (f"{name} is already in use on the mail server, as a hosted domain or as a domain alias, so it "
                     f"cannot be an alias of {ctx.domain}.")
            _, ok = attempt(request, lambda: services.domain_alias_add(ctx, actor=actor(request), name=name), form=form,
                            field_map={"address": "name"}, texts={Reason.TAKEN: ("name", taken)})
            if ok:
                return done(request, f"Domain alias {name} added: publish the same MX records for it.",
                            "mail_domain_aliases", ctx.service.pk)
    rows, error = provider_data(request, ctx, services.domain_aliases_list,
                                default=[])
    most = int(ctx.options.get("domain_aliases_max") or 0)
    return show(request, ctx, "domain_aliases.html", "domain_aliases", names=rows, form=form, error=error, most=most)
