"""Staff pages of the online gateways: settings (enable, display name, test mode, credentials — encrypted and
never shown back), the charges (failed, pending, unapplied), the events gateways sent, saved cards, and the 'Refund through
gateway' button on a gateway payment (billing's transaction page, extended here)."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from billing.admin_money import PaymentAdmin, admin_form_page
from billing.models import Payment
from payments import services
from payments.forms import GatewayRefundForm, GatewaySettingsForm
from payments.gateways.base import GatewayError
from payments.models import ChargeAttempt, GatewayEvent, GatewaySettings, PaymentMethod
from payments.registry import gateway_classes, settings_for
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin
from portal.forms import apply_errors


@admin.register(GatewaySettings)
class GatewaySettingsAdmin(admin.ModelAdmin):
    list_display = ["gateway", "display_name", "enabled", "test_mode", "updated_at"]
    form = GatewaySettingsForm

    def changelist_view(self, request, extra_context=None):
        for key in gateway_classes():  # one row per installed gateway, disabled until staff enable it
            settings_for(key)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        gateway_class = gateway_classes().get(getattr(obj, "gateway", None))
        schema = gateway_class.option_schema if gateway_class is not None else {}
        form = type("GatewaySettingsForm", (GatewaySettingsForm,), {"option_schema": schema,
                                                                    "gateway_class": gateway_class})
        kwargs["fields"] = None
        return super().get_form(request, obj, change, form=form, **kwargs)

    def get_fieldsets(self, request, obj=None):
        form = self.get_form(request, obj)
        return [(None, {"fields": list(form.base_fields) + [f"option_{name}" for name in form.option_schema]})]

    def save_model(self, request, obj, form, change):
        options, secrets = form.split()
        services.gateway_settings_update(
            gateway_key=obj.gateway, actor=Actor.from_request(request), enabled=form.cleaned_data["enabled"],
            display_name=form.cleaned_data["display_name"], test_mode=form.cleaned_data["test_mode"],
            options=options, secrets=secrets)

    def log_change(self, request, obj, message):
        pass  # gateway_settings_update wrote the audit entry (without secrets)


@admin.register(ChargeAttempt)
class ChargeAttemptAdmin(RecordOnlyAdmin):
    """Charges started at gateways: the failed, pending and unapplied ones are what staff follow up."""

    list_display = ["created_at", "invoice", "gateway", "kind", "amount", "currency", "status", "reason",
                    "received_amount", "received_currency", "reference"]
    list_filter = ["status", "gateway", "kind"]
    search_fields = ["reference", "idempotency_key", "invoice__number"]
    list_select_related = ["invoice"]
    actions = ["apply_unapplied"]

    def has_apply_permission(self, request):
        return request.user.has_perm("billing.add_payment")

    @admin.action(description="Apply the money received to the invoice (unapplied charges)", permissions=["apply"])
    def apply_unapplied(self, request, queryset):
        done = 0
        for attempt in queryset.order_by("pk"):
            try:
                services.unapplied_apply(attempt=attempt, actor=Actor.from_request(request))
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{attempt}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, f"Applied {done} charge(s).", messages.SUCCESS)


@admin.register(GatewayEvent)
class GatewayEventAdmin(RecordOnlyAdmin):
    list_display = ["received_at", "gateway", "type", "event_id", "outcome", "message"]
    list_filter = ["outcome", "gateway", "type"]
    search_fields = ["event_id"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(RecordOnlyAdmin):
    """Clients' saved cards: the gateway's ids, brand, last four and expiry (the gateway keeps the card)."""

    list_display = ["client", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    list_filter = ["gateway", "brand"]
    search_fields = ["client__email", "client__last_name", "customer_id", "method_id", "last4"]
    list_select_related = ["client"]

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("payments.delete_paymentmethod")


class GatewayPaymentAdmin(PaymentAdmin):
    """Billing's transaction page, with a refund through the gateway for payments that came through one."""

    readonly_fields = [*PaymentAdmin.readonly_fields, "gateway_refund_link"]

    @admin.display(description="Refund")
    def gateway_refund_link(self, obj):
        if obj.gateway not in gateway_classes() or obj.amount <= 0 or obj.invoice_id is None:
            return "—"
        return format_html('<a class="button" href="{}">Refund through {}</a>',
                           reverse("admin:payments_gateway_refund", args=[obj.pk]), gateway_classes()[obj.gateway].label)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:payment_id>/gateway-refund/", wrap(self.gateway_refund_view), name="payments_gateway_refund"),
                *super().get_urls()]

    def gateway_refund_view(self, request, payment_id):
        if not request.user.has_perm("billing.add_payment"):
            raise PermissionDenied
        payment = get_object_or_404(Payment, pk=payment_id)
        form = GatewayRefundForm(request.POST or None, initial={"amount": payment.amount})
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.refund_through_gateway(payment=payment, amount=form.cleaned_data["amount"],
                                                         actor=Actor.from_request(request))
            except ValidationError as exc:
                apply_errors(form, exc)
            except GatewayError as exc:
                form.add_error(None, f"The gateway refused the refund: {exc.message}")
            else:
                self.message_user(request, f"Refunded {refund.amount_out} {refund.currency} ({refund.transaction_id}).",
                                  messages.SUCCESS)
                return redirect("admin:billing_payment_change", refund.pk)
        return admin_form_page(self, request, title=f"Refund transaction #{payment.pk} through {payment.gateway}",
                               form=form, question=f"{payment.amount} {payment.currency} received on invoice "
                                                   f"{payment.invoice} ({payment.transaction_id}).")


admin.site.unregister(Payment)
admin.site.register(Payment, GatewayPaymentAdmin)
