"""Staff pages for money: invoices (record a payment, apply credit, cancel, run the generator), payments,
the credit ledger (adjustments with a reason), tax rates, and adding an order for a client. Every write is
one billing service call with the staff member as the actor."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.forms import CreditAdjustmentForm, PaymentForm, apply_errors, option_fields, option_values
from billing.models import BillingCycle, Invoice, InvoiceItem, Payment, Product
from billing.pricing import product_options
from billing.services.generation import generate_invoices
from billing.services.invoices import invoice_cancel
from billing.services.ledger import credit_adjust
from billing.selectors import orderable_products
from billing.services.orders import order_create
from billing.services.payments import invoice_pay_from_credit, payment_record
from portal.activity import Actor
from portal.models import Client


def staff_actor(request):
    return Actor.staff(request.user, ip_address=request.META.get("REMOTE_ADDR"))


def admin_form_page(modeladmin, request, *, title, form, template="billing/admin/form_page.html", **context):
    return TemplateResponse(
        request, template,
        {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": title, "form": form, **context},
    )


class RecordOnlyAdmin(admin.ModelAdmin):
    """Rows written only by billing services: staff look, never add, edit or delete here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceItemInline(admin.TabularInline):
    """Read-only: lines are written by the billing services, which keep the totals right."""

    model = InvoiceItem
    extra = 0
    fields = ["kind", "description", "service", "period_start", "period_end", "amount", "taxable"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["received_at", "amount", "gateway", "transaction_id", "recorded_by", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number_or_id", "client", "kind", "status", "date", "due_date", "total", "balance"]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "client__company_name", "client__last_name", "client__email", "=id"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]
    date_hierarchy = "date"
    fields = ["client", "number", "kind", "status", "date", "due_date", "currency", "subtotal", "tax_rate", "tax", "total",
              "credit_applied", "amount_paid", "balance", "paid_at", "cancelled_at", "notes", "money_actions"]
    readonly_fields = ["client", "number", "kind", "status", "date", "currency", "subtotal", "tax_rate", "tax", "total",
                       "credit_applied", "amount_paid", "balance", "paid_at", "cancelled_at", "money_actions"]
    inlines = [InvoiceItemInline, PaymentInline]
    actions = ["cancel_invoices"]
    change_list_template = "billing/admin/invoice_change_list.html"

    def has_add_permission(self, request):
        return False  # invoices come from orders, add funds, upgrades and the generator

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: numbers stay gap-free

    @admin.display(description="Invoice", ordering="number")
    def number_or_id(self, obj):
        return str(obj)

    @admin.display(description="Balance")
    def balance(self, obj):
        return obj.balance

    @admin.display(description="Actions")
    def money_actions(self, obj):
        if obj.pk is None or obj.status != Invoice.Status.UNPAID:
            return "—"
        return format_html(
            '<a class="button" href="{}">Record a payment</a> <a class="button" href="{}">Apply credit</a>',
            reverse("admin:billing_invoice_record_payment", args=[obj.pk]),
            reverse("admin:billing_invoice_apply_credit", args=[obj.pk]),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:invoice_id>/record-payment/", wrap(self.record_payment_view), name="billing_invoice_record_payment"),
            path("<int:invoice_id>/apply-credit/", wrap(self.apply_credit_view), name="billing_invoice_apply_credit"),
            path("generate/", wrap(self.generate_view), name="billing_invoice_generate"),
            *super().get_urls(),
        ]

    def _invoice(self, request, invoice_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Invoice.objects.select_related("client"), pk=invoice_id)

    def record_payment_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        form = PaymentForm(request.POST or None, initial={"amount": invoice.balance})
        if request.method == "POST" and form.is_valid():
            try:
                result = payment_record(invoice=invoice, actor=staff_actor(request), **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                if result.created:
                    note = f"; {result.credited} went to credit" if result.credited else ""
                    self.message_user(request, f"Payment of {result.payment.amount} recorded{note}.", messages.SUCCESS)
                else:
                    self.message_user(request, "That transaction was already recorded: nothing changed.", messages.WARNING)
                return redirect("admin:billing_invoice_change", invoice.pk)
        return admin_form_page(self, request, title=f"Record a payment for invoice {invoice}", form=form, invoice=invoice)

    def apply_credit_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        if request.method == "POST":
            try:
                invoice_pay_from_credit(invoice=invoice, actor=staff_actor(request))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, "Credit applied.", messages.SUCCESS)
            return redirect("admin:billing_invoice_change", invoice.pk)
        return admin_form_page(
            self, request, title=f"Apply credit to invoice {invoice}", form=None, invoice=invoice,
            question=f"Apply up to {invoice.balance} {invoice.currency} of the client's credit "
                     f"({invoice.client.credit_balance:.2f} available)?",
        )

    def generate_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            result = generate_invoices(date=timezone.localdate(), actor=staff_actor(request))
            self.message_user(request, f"Invoice run for {timezone.localdate()}: {result.summary}.", messages.SUCCESS)
            for warning in result.warnings:
                self.message_user(request, warning, messages.WARNING)
            return redirect("admin:billing_invoice_changelist")
        return admin_form_page(
            self, request, title="Generate due invoices now", form=None,
            question="Bill every service due within the 'invoice days before due' setting, as the daily run does? "
                     "Periods already billed are skipped.",
        )

    @admin.action(description="Cancel selected unpaid invoices (paid amounts go to credit)", permissions=["change"])
    def cancel_invoices(self, request, queryset):
        done = 0
        for invoice in queryset.order_by("pk"):
            try:
                invoice_cancel(invoice=invoice, actor=staff_actor(request))
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if done:
            self.message_user(request, f"Cancelled {done} invoice(s).", messages.SUCCESS)


class PaymentAdmin(RecordOnlyAdmin):
    """Payments are recorded from the invoice page, through billing.services.payments."""

    list_display = ["received_at", "client", "invoice", "amount", "currency", "gateway", "transaction_id"]
    list_filter = ["gateway", "currency"]
    search_fields = ["transaction_id", "invoice__number", "client__email", "client__last_name"]
    list_select_related = ["client", "invoice"]
    date_hierarchy = "received_at"


class CreditLedgerEntryAdmin(RecordOnlyAdmin):
    """Read-only list; staff adjust credit through the 'Adjust credit' page, which needs a reason."""

    list_display = ["created_at", "client", "kind", "amount", "description", "invoice", "created_by"]
    list_filter = ["kind"]
    search_fields = ["description", "client__email", "client__last_name", "invoice__number", "=client__id"]
    list_select_related = ["client", "invoice", "created_by"]
    date_hierarchy = "created_at"
    change_list_template = "billing/admin/ledger_change_list.html"

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="billing_creditledgerentry_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request):
        if not request.user.has_perm("billing.add_creditledgerentry"):
            raise PermissionDenied
        form = ClientCreditAdjustmentForm(request.POST or None, initial={"client": request.GET.get("client")})
        if request.method == "POST" and form.is_valid():
            try:
                entry = credit_adjust(
                    client=form.cleaned_data["client"], amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"], actor=staff_actor(request),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(request, f"Credit of {entry.client} adjusted by {entry.amount:+.2f}.", messages.SUCCESS)
                return redirect(reverse("admin:billing_creditledgerentry_changelist") + f"?client__id__exact={entry.client_id}")
        return admin_form_page(self, request, title="Adjust a client's credit", form=form)


class ClientCreditAdjustmentForm(CreditAdjustmentForm):
    client = forms.ModelChoiceField(queryset=Client.objects.all(), widget=forms.NumberInput, help_text="The client's id.")
    field_order = ["client", "amount", "reason"]


class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["country", "name", "rate"]
    search_fields = ["country", "name"]


class StaffOrderForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.all(), widget=forms.NumberInput, help_text="The client's id.")
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    domain = forms.CharField(max_length=253)
    cycle = forms.ChoiceField(choices=BillingCycle.choices, initial=BillingCycle.MONTHLY)

    def __init__(self, *args, product=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = orderable_products(staff=True)
        if product is not None:
            self.fields.update(option_fields(product_options(product)))


def staff_order_view(modeladmin, request):
    """Staff add an order for a client: the same service as the client area (Pending service + first invoice)."""
    if not request.user.has_perm("billing.add_service"):
        raise PermissionDenied
    data = request.POST or None
    product_id = request.POST.get("product") or request.GET.get("product")
    product = orderable_products(staff=True).filter(pk=product_id).first() if str(product_id or "").isdigit() else None
    form = StaffOrderForm(data, product=product, initial={"client": request.GET.get("client"), "product": product})
    if request.method == "POST" and request.POST.get("action") == "order" and form.is_valid():
        try:
            result = order_create(
                client=form.cleaned_data["client"], product=form.cleaned_data["product"],
                domain=form.cleaned_data["domain"], cycle=form.cleaned_data["cycle"],
                option_values=option_values(form.cleaned_data), actor=staff_actor(request), staff=True,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            modeladmin.message_user(request, f"Order added: {result.service} (Pending), invoice {result.invoice}.", messages.SUCCESS)
            return redirect("admin:billing_service_change", result.service.pk)
    return admin_form_page(modeladmin, request, title="Add an order", form=form, order_step=product is not None,
                           template="billing/admin/order_form.html")

