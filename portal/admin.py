from django.contrib import admin
from django.db.models import Count, Q

from billing.models import Invoice, Service
from portal.impersonation import LoginAsClientAdminMixin
from portal.models import ActivityLog, Client, ClientUser, JobRun


class ClientUserInline(admin.TabularInline):
    model = ClientUser
    extra = 0
    raw_id_fields = ["user"]


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


@admin.register(Client)
class ClientAdmin(LoginAsClientAdminMixin, admin.ModelAdmin):
    list_display = ["id", "display_name", "email", "country", "status", "credit_balance", "live_services", "created_at"]
    list_display_links = ["id", "display_name"]
    list_filter = ["status", "country", "currency", "has_voip_service", "voip_suspended"]
    search_fields = ["company_name", "first_name", "last_name", "email", "=id"]
    readonly_fields = ["credit_balance", "last_login_at", "low_balance_alert_sent_at", "created_at", "updated_at"]
    inlines = [ClientUserInline, ClientServiceInline, ClientInvoiceInline]
    fieldsets = [
        (None, {"fields": ["company_name", ("first_name", "last_name"), ("email", "phone"), "status"]}),
        ("Address", {"fields": ["address1", "address2", ("city", "state", "postcode"), "country"]}),
        ("Billing", {"fields": ["currency", "tax_exempt", "apply_credit_to_invoices", "credit_balance"]}),
        (
            "VoIP",
            {"fields": ["has_voip_service", "voip_suspended", "manual_voip_suspend", "low_balance_threshold", "low_balance_alert_sent_at"]},
        ),
        ("Notes and history", {"fields": ["notes", "last_login_at", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        live = Q(services__status__in=[Service.Status.ACTIVE, Service.Status.SUSPENDED])
        return super().get_queryset(request).annotate(live_services=Count("services", filter=live))

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
