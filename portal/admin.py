"""Staff pages of the ground floor: the audit log, the periodic jobs' runs, and the inlines of a client's users
and contacts (the client page itself, with its services and invoices, is billing's: billing/admin_clients.py)."""
from django import forms
from django.contrib import admin

from portal.contacts import CONTACT_FIELDS, EMAIL_IN_USE, email_in_use
from portal.models import ActivityLog, ClientUser, Contact, JobRun


class ClientUserInline(admin.TabularInline):
    model = ClientUser
    extra = 0
    raw_id_fields = ["user"]


class ContactInlineForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = CONTACT_FIELDS

    def clean_email(self):
        # The service's rule, checked here too: save_formset cannot turn a refusal into a form error.
        email = self.cleaned_data["email"]
        if self.instance.client_id and email_in_use(self.instance, email):
            raise forms.ValidationError(EMAIL_IN_USE)
        return email


class ContactInline(admin.StackedInline):
    """Saved through portal.contacts (billing.admin_clients.ClientAdmin.save_formset), so each change is validated and audited."""

    model = Contact
    form = ContactInlineForm
    extra = 0
    fields = [
        ("first_name", "last_name", "company_name"), ("email", "phone"), ("address1", "address2"),
        ("city", "state", "postcode", "country"),
        ("general_emails", "invoice_emails", "product_emails", "domain_emails", "support_emails"),
    ]


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
