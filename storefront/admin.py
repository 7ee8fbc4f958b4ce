"""Staff pages of the storefront: promotions (with how often each was used), orders (promotion, sign-up source,
verification state, hold and its release) and the storefront settings (terms, verification, review rules,
rate limits). Promotion and Order are billing's models; their pages are here, where the storefront uses them."""
from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from billing.automation.admin import ConfigurationAuditMixin, SingletonSettingsAdmin
from billing.models import BillingCycle, Order, Promotion
from billing.services.orders import order_release
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin
from storefront.models import StorefrontSettings
from storefront.services import pending_reason


class PromotionForm(forms.ModelForm):
    cycles = forms.MultipleChoiceField(
        choices=BillingCycle.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every billing cycle.",
    )

    class Meta:
        model = Promotion
        fields = "__all__"


@admin.register(Promotion)
class PromotionAdmin(ConfigurationAuditMixin, admin.ModelAdmin):
    form = PromotionForm
    audit_action = "promotion"
    list_display = ["code", "discount", "restrictions", "period", "usage", "active"]
    list_filter = ["active", "kind", "recurring", "new_clients_only"]
    search_fields = ["code", "notes"]
    filter_horizontal = ["products"]
    readonly_fields = ["uses"]
    fieldsets = [
        (None, {"fields": ["code", "active", "kind", "value", "recurring", "applies_to_setup", "notes"]}),
        ("Restrictions", {"fields": ["products", "cycles", "starts_at", "ends_at", "new_clients_only"]}),
        ("Limits", {"fields": ["max_uses", "max_uses_per_client", "uses"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            client_total=Count("orders__client", distinct=True)).prefetch_related("products")

    @admin.display(description="discount")
    def discount(self, obj):
        amount = f"{obj.value:f}".rstrip("0").rstrip(".") + " %" if obj.kind == Promotion.Kind.PERCENT else f"{obj.value} off"
        parts = [amount, "recurring" if obj.recurring else "first payment"] + (["setup fee too"] if obj.applies_to_setup else [])
        return " · ".join(parts)

    @admin.display(description="for")
    def restrictions(self, obj):
        products = [p.name for p in obj.products.all()]
        parts = [", ".join(products) if products else "every product",
                 ", ".join(BillingCycle(c).label.lower() for c in obj.cycles) if obj.cycles else "every cycle"]
        if obj.new_clients_only:
            parts.append("new clients only")
        if obj.max_uses_per_client is not None:
            parts.append(f"{obj.max_uses_per_client} per client")
        return " · ".join(parts)

    @admin.display(description="valid")
    def period(self, obj):
        if not (obj.starts_at or obj.ends_at):
            return "always"
        start = f"{obj.starts_at:%Y-%m-%d}" if obj.starts_at else "…"
        end = f"{obj.ends_at:%Y-%m-%d}" if obj.ends_at else "…"
        return f"{start} – {end}"

    @admin.display(description="uses (clients)", ordering="uses")
    def usage(self, obj):
        used = f"{obj.uses} / {obj.max_uses}" if obj.max_uses is not None else str(obj.uses)
        return f"{used} ({obj.client_total})"


@admin.register(Order)
class OrderAdmin(RecordOnlyAdmin):
    list_display = ["order_label", "client_label", "source_and_promotion", "invoice_state", "hold_state"]
    list_filter = ["source", "hold", "promotion"]
    search_fields = ["client__email", "client__last_name", "client__company_name", "promotion__code"]
    list_select_related = ["client", "promotion", "invoice"]
    actions = ["release"]
    fields = ["client", "created_at", "source", "ip_address", "promotion", "discount", "invoice", "hold",
              "hold_state", "released_at", "email_state"]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("billing.change_order") if obj is None else False

    @admin.display(description="order", ordering="-created_at")
    def order_label(self, obj):
        return format_html("#{}<br><span class=\"quiet\">{}</span>", obj.pk, f"{obj.created_at:%Y-%m-%d %H:%M}")

    @admin.display(description="source and promotion", ordering="source")
    def source_and_promotion(self, obj):
        if not obj.promotion:
            return obj.get_source_display()
        return format_html("{}<br>{} − {}", obj.get_source_display(), obj.promotion.code, obj.discount)

    @admin.display(description="invoice")
    def invoice_state(self, obj):
        if not obj.invoice:
            return "–"
        return format_html("{}<br>{}", obj.invoice, obj.invoice.get_status_display().lower())

    @admin.display(description="e-mail")
    def email_state(self, obj):
        if obj.client.email_verification_pending:
            return "unverified"
        return "verified" if obj.client.email_verified_at else "unchecked"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services__product")

    @admin.display(description="client and e-mail", ordering="client")
    def client_label(self, obj):
        return format_html("{}<br>e-mail {}", obj.client, self.email_state(obj))

    @admin.display(description="waiting for", ordering="hold")
    def hold_state(self, obj):
        """The hold, else what the first pending service waits for (payment, manual set-up), else nothing."""
        if obj.hold:
            return format_html("<strong>{}</strong>", obj.get_hold_display())
        reasons = [pending_reason(obj, service) for service in obj.services.all()]
        return next((r for r in reasons if r), "–")

    @admin.action(description="Release the selected orders (review done): create their paid services",
                  permissions=["change"])
    def release(self, request, queryset):
        actor = Actor.from_request(request)
        held = [order for order in queryset if order.hold]
        for order in held:
            order_release(order=order, actor=actor, reason=f"reviewed by {request.user.get_username()}")
        messages.success(request, f"{len(held)} order(s) released; {queryset.count() - len(held)} were not on hold.")


@admin.register(StorefrontSettings)
class StorefrontSettingsAdmin(SingletonSettingsAdmin):
    audit_action = "storefront_settings"
    fieldsets = [
        ("Sign-up", {"fields": ["terms_version", "terms_url", "require_email_verification"]}),
        ("Orders waiting for staff review", {"fields": ["review_orders_above", "review_new_client_orders"]}),
        ("Abuse limits (per IP address)", {"fields": ["signups_per_hour", "checkouts_per_hour"]}),
    ]
