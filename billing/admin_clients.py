"""The staff page of a client: details, users, contacts, services, invoices and credit, and closing clients.
Billing's, not portal's, because it shows and closes billing's records."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from billing.models import Invoice, Service
from billing.services.closing import client_close
from portal.activity import Actor
from portal.admin import ClientUserInline, ContactInline
from portal.admin_paging import LargeTableAdmin, client_values_filter
from portal.contacts import CONTACT_FIELDS, contact_create, contact_delete, contact_update
from portal.impersonation import LoginAsClientAdminMixin
from portal.models import Client, Contact
from portal.money import credit_shown, format_money
from portal.phones import HELP_TEXT as PHONE_HELP
from portal.services import vat_number_changes


class ClientServiceInline(admin.TabularInline):
    model = Service
    fields = ["domain", "product", "status", "billing_cycle", "recurring_amount", "next_due_date"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    ordering = ["status", "domain"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request, obj=None):
        return False


class ClientInvoiceInline(admin.TabularInline):
    model = Invoice
    fields = ["number", "status", "date", "due_date", "total"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ClientAdminForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = "__all__"
        help_texts = {"phone": PHONE_HELP}

    def clean(self):
        """A changed VAT number is checked as everywhere it is entered (format, check digit, VIES) and the check
        is recorded with it."""
        data = super().clean()
        if "vat_number" in self.changed_data and not self.has_error("vat_number"):
            try:
                found = vat_number_changes(self.instance if self.instance.pk else None, data.get("vat_number"),
                                           data.get("country") or self.instance.country)
            except ValidationError as exc:
                self.add_error(None, exc)
            else:
                data["vat_number"] = found.pop("vat_number")
                for name, value in found.items():
                    setattr(self.instance, name, value)
        return data


@admin.register(Client)
class ClientAdmin(LargeTableAdmin, LoginAsClientAdminMixin, admin.ModelAdmin):
    form = ClientAdminForm
    list_display = ["id", "display_name", "email", "country", "status", "credit", "live_services", "created_at"]
    list_display_links = ["id", "display_name"]
    list_filter = ["status", client_values_filter("country", "country"), client_values_filter("currency", "currency"), "has_voip_service", "voip_suspended", "email_verification_pending"]
    search_fields = ["company_name", "first_name", "last_name", "email"]
    number_search_fields = ["id"]
    readonly_fields = ["credit", "vat_check", "vat_checked_at", "last_login_at", "low_balance_alert_sent_at", "created_at", "updated_at",
                       "signup_source", "terms_version", "terms_accepted_at", "email_verified_at"]
    inlines = [ClientUserInline, ContactInline, ClientServiceInline, ClientInvoiceInline]
    actions = ["close_clients"]
    fieldsets = [
        (None, {"fields": ["company_name", ("first_name", "last_name"), ("email", "phone"), "status"]}),
        ("Address", {"fields": ["address1", "address2", ("city", "state", "postcode"), "country"]}),
        ("Billing", {"fields": ["currency", "tax_exempt", "vat_number", ("vat_check", "vat_checked_at"),
                                "apply_credit_to_invoices", "credit"]}),
        (
            "VoIP",
            {
                "fields": [
                    "has_voip_service", "voip_suspended", "manual_voip_suspend", "voip_credit_limit", "time_zone",
                    "low_balance_threshold", "low_balance_alert_sent_at",
                ]
            },
        ),
        ("Sign-up", {"fields": ["signup_source", ("terms_version", "terms_accepted_at"),
                                ("email_verification_pending", "email_verified_at")]}),
        ("Notes and history", {"fields": ["notes", "last_login_at", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # A subquery per listed client, not a join with GROUP BY: the grouped join made every page (and its
        # count, and each filter's choices) group all clients' services (1 s at 25,000 clients).
        live = (Service.objects.filter(client=OuterRef("pk"), status__in=[Service.Status.ACTIVE, Service.Status.SUSPENDED])
                .order_by().values("client").annotate(count=Count("id")).values("count"))
        return super().get_queryset(request).annotate(live_services=Coalesce(Subquery(live), 0))

    @admin.display(description="credit balance", ordering="credit_balance")
    def credit(self, obj):
        """What the client sees and may spend, and beside it, when it differs, the exact four-place balance the
        ledger sums to — staff reconcile with that one (docs/billing.md, *Showing money*)."""
        shown = format_money(obj.credit_balance, obj.currency, spendable=True)
        if credit_shown(obj.credit_balance, obj.currency) == obj.credit_balance:
            return f"{shown} {obj.currency}"
        exact = format_money(obj.credit_balance, obj.currency, exact=True)
        return format_html('{} {} <span class="quiet">(exact {})</span>', shown, obj.currency, exact)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        actor = Actor.from_request(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for contact_form in formset.deleted_forms:
            if contact_form.instance.pk:
                formset.deleted_objects.append(contact_form.instance)
                contact_delete(contact=contact_form.instance, actor=actor)
        for contact_form in formset.forms:
            if contact_form in formset.deleted_forms or not contact_form.has_changed():
                continue
            values = {name: contact_form.cleaned_data[name] for name in CONTACT_FIELDS}
            if contact_form.instance.pk:
                changed = [name for name in contact_form.changed_data if name in values]
                contact_update(contact=contact_form.instance, actor=actor, changes={name: values[name] for name in changed})
                formset.changed_objects.append((contact_form.instance, changed))
            else:
                formset.new_objects.append(contact_create(client=form.instance, actor=actor, **values))

    @admin.action(description="Close selected clients (cancel their services and unpaid invoices)",
                  permissions=["close"])
    def close_clients(self, request, queryset):
        actor = Actor.from_request(request)
        for client in queryset.order_by("pk"):
            result = client_close(client=client, actor=actor)
            self.message_user(
                request, f"{client} closed: {len(result.invoices_cancelled)} invoice(s) and "
                f"{len(result.services_cancelled)} service(s) cancelled.", messages.SUCCESS,
            )
            for service, message in result.services_failed:
                self.message_user(
                    request, f"{service.domain} could not be cancelled yet ({message}); the daily automation run "
                    "retries it.", messages.WARNING,
                )

    def has_close_permission(self, request):
        # Closing cancels every service (the modules remove them): it takes the power to terminate.
        return request.user.has_perms(["portal.change_client", "provisioning.terminate_service"])

    @admin.display(description="Name", ordering="last_name")
    def display_name(self, obj):
        return obj.display_name

    @admin.display(description="Active/suspended services", ordering="live_services")
    def live_services(self, obj):
        return obj.live_services
