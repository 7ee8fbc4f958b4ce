"""Staff pages of the ground floor: the audit log, the periodic jobs' runs, and the inlines of a client's users
and contacts (the client page itself, with its services and invoices, is billing's: billing/admin_clients.py)."""
from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.html import format_html, format_html_join
from django.views.decorators.csp import csp_override

from portal import admin_two_factor  # noqa: F401  (the user pages, with two-factor)
from portal.admin_paging import LargeTableAdmin
from portal.contacts import CONTACT_FIELDS, EMAIL_IN_USE, email_in_use
from portal.models import ActivityLog, ClientUser, Contact, JobRun, SentEmail
from portal.phones import HELP_TEXT as PHONE_HELP


def local_date_time(moment):
    """A stored UTC time as a staff list shows it: the business time zone's date and time, each kept on one line
    (a narrow column wraps between them, never inside them)."""
    local = timezone.localtime(moment)
    return format_html('<span class="nowrap">{}</span> <span class="nowrap">{}</span>', f"{local:%Y-%m-%d}",
                       f"{local:%H:%M}")


def _mail_preview_csp():
    return {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}


class RecordOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services (audit, bookkeeping, billing records): staff look, never add, edit or
    delete here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    """Saved through portal.contacts (billing.admin_clients.ClientAdmin.save_formset): each change validated, audited."""

    model = Contact
    form = ContactInlineForm
    extra = 0
    fields = [
        ("first_name", "last_name", "company_name"), ("email", "phone"), ("address1", "address2"),
        ("city", "state", "postcode", "country"),
        ("general_emails", "invoice_emails", "product_emails", "domain_emails", "support_emails"),
    ]


@admin.register(ActivityLog)
class ActivityLogAdmin(LargeTableAdmin, RecordOnlyAdmin):
    """Read-only: the audit trail is append-only. No date drill-down: its first step (the years present) reads
    every row; the created-at filter's periods cost nothing."""

    list_display = ["created_at", "actor_label", "action", "client", "target_repr", "message"]
    list_filter = ["actor_type", "action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["message", "actor_label", "target_repr", "action"]
    number_search_fields = ["client_id"]  # a client's entries (indexed with created_at)
    list_prefetch_related = ["client"]


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "last_started_at", "last_success_at", "last_duration_ms", "run_count", "last_error"]
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SentEmail)
class SentEmailAdmin(RecordOnlyAdmin):
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The HTML part's frame (srcdoc) takes this page's Content-Security-Policy: e-mails style with <style>
        # and style="", so this page alone allows inline styles. Scripts stay forbidden (and the frame is
        # sandboxed without them anyway).
        view = csp_override(_mail_preview_csp())(super().change_view)
        return view(request, object_id, form_url, extra_context)

    @admin.display(description="Attachments")
    def attachment_count(self, obj):
        return len(obj.attachments) or ""

    @admin.display(description="Text part")
    def text_body(self, obj):
        return format_html('<pre data-testid="email-text" class="mail-text">{}</pre>',
                           obj.body or "(no text part)")

    @admin.display(description="HTML part")
    def html_preview(self, obj):
        """The HTML part in a sandboxed frame: no scripts, forms, plugins or navigation, and not this page's
        origin, so it can neither run nor reach the staff area. The markup goes in escaped, as an attribute."""
        if not obj.html_body:
            return "(no HTML part)"
        return format_html(
            '<iframe data-testid="email-html" sandbox="" class="mail-html" referrerpolicy="no-referrer" '
            'title="HTML part" srcdoc="{}"></iframe>',
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
