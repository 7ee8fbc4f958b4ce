from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from billing.models import Invoice, Service
from billing.money import credit_shown, format_money
from portal.activity import Actor
from portal.contacts import CONTACT_FIELDS, EMAIL_IN_USE, contact_create, contact_delete, contact_update, email_in_use
from portal.impersonation import LoginAsClientAdminMixin
from portal.models import ActivityLog, Client, ClientUser, Contact, JobRun, SentEmail
from portal.phones import HELP_TEXT as PHONE_HELP


class ClientUserInline(admin.TabularInline):
    model = ClientUser
    extra = 0
    raw_id_fields = ["user"]


class ContactInlineForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = CONTACT_FIELDS
        help_texts = {"phone": PHONE_HELP}

    def clean_email(self):
        # The service's rule, checked here too: save_formset cannot turn a refusal into a form error.
        email = self.cleaned_data["email"]
        if self.instance.client_id and email_in_use(self.instance, email):
            raise forms.ValidationError(EMAIL_IN_USE)
        return email


class ContactInline(admin.StackedInline):
    """Saved through portal.contacts (ClientAdmin.save_formset), so each change is validated and audited."""

    model = Contact
    form = ContactInlineForm
    extra = 0
    fields = [
        ("first_name", "last_name", "company_name"), ("email", "phone"), ("address1", "address2"),
        ("city", "state", "postcode", "country"),
        ("general_emails", "invoice_emails", "product_emails", "domain_emails", "support_emails"),
    ]


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


@admin.register(Client)
class ClientAdmin(LoginAsClientAdminMixin, admin.ModelAdmin):
    form = ClientAdminForm
    list_display = ["id", "display_name", "email", "country", "status", "credit", "live_services", "created_at"]
    list_display_links = ["id", "display_name"]
    list_filter = ["status", "country", "currency", "has_voip_service", "voip_suspended"]
    search_fields = ["company_name", "first_name", "last_name", "email", "=id"]
    readonly_fields = ["credit", "last_login_at", "low_balance_alert_sent_at", "created_at", "updated_at"]
    inlines = [ClientUserInline, ContactInline, ClientServiceInline, ClientInvoiceInline]
    actions = ["close_clients"]
    fieldsets = [
        (None, {"fields": ["company_name", ("first_name", "last_name"), ("email", "phone"), "status"]}),
        ("Address", {"fields": ["address1", "address2", ("city", "state", "postcode"), "country"]}),
        ("Billing", {"fields": ["currency", "tax_exempt", "apply_credit_to_invoices", "credit"]}),
        (
            "VoIP",
            {
                "fields": [
                    "has_voip_service", "voip_suspended", "manual_voip_suspend", "voip_credit_limit", "time_zone",
                    "low_balance_threshold", "low_balance_alert_sent_at",
                ]
            },
        ),
        ("Notes and history", {"fields": ["notes", "last_login_at", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        live = Q(services__status__in=[Service.Status.ACTIVE, Service.Status.SUSPENDED])
        return super().get_queryset(request).annotate(live_services=Count("services", filter=live))

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
        from billing.services.closing import client_close

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


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["created_at", "actor_label", "action", "client", "target_repr", "message"]
    list_filter = ["actor_type", "action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["message", "actor_label", "target_repr", "action", "=client__id"]
    list_select_related = ["client"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a count over millions of rows is slow and not needed to page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "last_started_at", "last_success_at", "last_duration_ms", "run_count", "last_error"]
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    """The outbox (EMAIL_URL=outbox://, the demo's): the e-mails the portal would have sent, read-only. For
    superusers only: it holds every login's password reset and invitation links, staff logins' included, so
    whoever reads it can sign in as anyone."""

    list_display = ["sent_at", "subject", "to", "from_email", "attachment_count"]
    list_display_links = ["sent_at", "subject"]
    search_fields = ["to", "cc", "bcc", "subject"]
    date_hierarchy = "sent_at"
    list_per_page = 50
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["sent_at", "from_email", "to", "cc", "bcc", "reply_to", "subject", "message_id"]}),
        ("Content", {"fields": ["text_body", "html_preview", "attachment_list"]}),
    ]
    readonly_fields = ["sent_at", "from_email", "to", "cc", "bcc", "reply_to", "subject", "message_id",
                       "text_body", "html_preview", "attachment_list"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Attachments")
    def attachment_count(self, obj):
        return len(obj.attachments) or ""

    @admin.display(description="Text part")
    def text_body(self, obj):
        return format_html('<pre data-testid="email-text" style="white-space: pre-wrap; margin: 0">{}</pre>',
                           obj.body or "(no text part)")

    @admin.display(description="HTML part")
    def html_preview(self, obj):
        """The HTML part in a sandboxed frame: no scripts, forms, plugins or navigation, and not this page's
        origin, so it can neither run nor reach the staff area. The markup goes in escaped, as an attribute."""
        if not obj.html_body:
            return "(no HTML part)"
        return format_html(
            '<iframe data-testid="email-html" sandbox="" referrerpolicy="no-referrer" title="HTML part" srcdoc="{}" '
            'style="width: min(60rem, calc(100vw - 4rem)); height: 32rem; border: 1px solid var(--hairline-color); '
            'background: #fff"></iframe>',
            obj.html_body,
        )

    @admin.display(description="Attachments")
    def attachment_list(self, obj):
        if not obj.attachments:
            return "(none)"
        return format_html_join(
            "\n", "<div>{} ({}, {} bytes)</div>",
            ((item.get("name") or "(unnamed)", item.get("content_type", ""), item.get("size", 0)) for item in obj.attachments),
        )
