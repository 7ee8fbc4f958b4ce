"""Staff pages for money: invoices (record a payment, apply credit, cancel, run the generator), payments,
the credit ledger (adjustments with a reason), and adding an order for a client. Every write is
one billing service call with the staff member as the actor."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing.forms import (
    CreditAdjustmentForm,
    InvoiceEditForm,
    PaymentForm,
    RefundForm,
    TransactionCorrectionForm,
    option_fields,
    option_values,
)
from billing.models import BillingCycle, Invoice, InvoiceItem, Order, Payment, Product
from billing.documents import invoice_document
from billing.payment_reference import invoice_reference_display
from billing.pdf import pdf_response
from billing.pricing import product_options
from billing.selectors import orderable_products
from billing.services import billable, invoice_edit, transactions
from billing.services.generation import generate_invoices
from billing.services.invoices import invoice_cancel
from billing.services.ledger import credit_adjust
from billing.admin_tax import InvoiceTaxLineInline
from billing.services.orders import order_create
from billing.services.payments import invoice_pay_from_credit, payment_record
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin
from portal.admin_paging import LargeTableAdmin, client_values_filter
from portal.forms import apply_errors
from portal.models import Client
from portal.money import format_money


def admin_form_page(modeladmin, request, *, title, form, template="billing/admin/form_page.html", **context):
    return TemplateResponse(
        request, template,
        {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": title, "form": form, **context},
    )


class RecordOnlyInline(admin.TabularInline):
    """Rows written only by billing services, shown on their invoice: every field read-only, none added or
    deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class InvoiceItemInline(RecordOnlyInline):
    """Lines are written by the billing services, which keep the totals right."""

    model = InvoiceItem
    fields = ["kind", "description", "service", "period_start", "period_end", "amount", "taxable"]


class PaymentInline(RecordOnlyInline):
    model = Payment
    fields = ["received_at", "amount", "amount_out", "gateway", "transaction_id", "recorded_by", "note"]


class InvoiceAdmin(LargeTableAdmin, admin.ModelAdmin):
    list_display = ["number_or_id", "client", "kind", "status", "date", "due_date", "total", "balance"]
    # Dates by period, not drilled down (the drill-down's first step reads every invoice's year).
    list_filter = ["status", "kind", client_values_filter("currency", "currency"), ("date", admin.DateFieldListFilter)]
    search_fields = ["^number", "^proforma_number"]  # from their start: the numbers' unique indexes answer it
    number_search_fields = ["id", "client_id"]
    client_search_fields = ["company_name", "last_name", "email"]
    list_prefetch_related = ["client"]
    raw_id_fields = ["client"]
    fields = ["client", "number", "proforma_number", "documents", "payment_reference", "kind", "status", "date",
              "due_date", "currency", "subtotal", "tax_rate", "tax_rate2", "tax", "total", "credit_applied",
              "amount_paid", "balance", "paid_at", "cancelled_at", "prices_include_tax", "tax_rounding",
              "tax_treatment", "tax_note", "tax_evidence", "credit_notes", "notes", "money_actions"]
    readonly_fields = ["client", "number", "proforma_number", "documents", "payment_reference", "kind", "status",
                       "date", "currency", "subtotal", "tax_rate", "tax_rate2", "tax", "total", "credit_applied",
                       "amount_paid", "balance", "paid_at", "cancelled_at", "prices_include_tax", "tax_rounding",
                       "tax_treatment", "tax_note", "tax_evidence", "credit_notes", "money_actions"]
    inlines = [InvoiceItemInline, InvoiceTaxLineInline, PaymentInline]
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

    @admin.display(description="Credit notes")
    def credit_notes(self, obj):
        notes = list(obj.credit_notes.order_by("pk")) if obj.pk else []
        if not notes:
            return "—"
        return format_html_join(", ", '<a href="{}">{}</a> ({})', (
            (reverse("admin:billing_creditnote_change", args=[n.pk]), n.number, n.total) for n in notes))

    @admin.display(description="Payment reference")
    def payment_reference(self, obj):
        """The RF reference a bank transfer quotes (docs/payments.md, Bank transfer)."""
        return invoice_reference_display(obj) if obj.pk else "—"

    @admin.display(description="Document")
    def documents(self, obj):
        """The invoice as the client sees it (printable), and its PDF."""
        if obj.pk is None:
            return "—"
        return format_html('<a class="button" href="{}" target="_blank">View and print</a> '
                           '<a class="button" href="{}">PDF</a>',
                           reverse("admin:billing_invoice_document", args=[obj.pk]),
                           reverse("admin:billing_invoice_pdf", args=[obj.pk]))

    @admin.display(description="Actions")
    def money_actions(self, obj):
        if obj.pk is not None and obj.status == Invoice.Status.PAID:
            return format_html('<a class="button" href="{}">Refund</a>', reverse("admin:billing_invoice_refund", args=[obj.pk]))
        if obj.pk is None or obj.status != Invoice.Status.UNPAID:
            return "—"
        return format_html(
            '<a class="button" href="{}">Record a payment</a> <a class="button" href="{}">Apply credit</a> '
            '<a class="button" href="{}">Edit lines and dates</a>',
            reverse("admin:billing_invoice_record_payment", args=[obj.pk]),
            reverse("admin:billing_invoice_apply_credit", args=[obj.pk]),
            reverse("admin:billing_invoice_edit", args=[obj.pk]),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:invoice_id>/record-payment/", wrap(self.record_payment_view), name="billing_invoice_record_payment"),
            path("<int:invoice_id>/apply-credit/", wrap(self.apply_credit_view), name="billing_invoice_apply_credit"),
            path("<int:invoice_id>/edit/", wrap(self.edit_view), name="billing_invoice_edit"),
            path("<int:invoice_id>/refund/", wrap(self.refund_view), name="billing_invoice_refund"),
            path("generate/", wrap(self.generate_view), name="billing_invoice_generate"),
            path("<int:invoice_id>/document/", wrap(self.document_view), name="billing_invoice_document"),
            path("<int:invoice_id>/pdf/", wrap(self.pdf_view), name="billing_invoice_pdf"),
            *super().get_urls(),
        ]

    def _invoice(self, request, invoice_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Invoice.objects.select_related("client"), pk=invoice_id)

    def _document(self, request, invoice_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(
            Invoice.objects.select_related("client").prefetch_related("items", "payments", "tax_lines"), pk=invoice_id)
        return invoice, invoice_document(invoice)

    def document_view(self, request, invoice_id):
        invoice, document = self._document(request, invoice_id)
        return TemplateResponse(request, "billing/admin/invoice_document.html", {"invoice": invoice, "document": document})

    def pdf_view(self, request, invoice_id):
        return pdf_response(self._document(request, invoice_id)[1])

    def record_payment_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        form = PaymentForm(request.POST or None, initial={"amount": invoice.balance})
        if request.method == "POST" and form.is_valid():
            try:
                result = payment_record(invoice=invoice, actor=Actor.from_request(request), **form.cleaned_data)
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

    def edit_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        form = InvoiceEditForm(request.POST or None, invoice=invoice)
        if request.method == "POST" and form.is_valid():
            try:
                updated = invoice_edit.invoice_update(invoice=invoice, actor=Actor.from_request(request), **form.edits())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(request, f"Invoice {updated} saved: total {updated.total} {updated.currency}.",
                                  messages.SUCCESS)
                return redirect("admin:billing_invoice_change", invoice.pk)
        return admin_form_page(self, request, title=f"Edit invoice {invoice}", form=form, invoice=invoice,
                               question="Totals are recalculated at the invoice's tax rate. Money received beyond a "
                                        "lowered total goes to the client's credit.")

    def refund_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        left = transactions.refundable(invoice)
        form = RefundForm(request.POST or None, initial={"amount": left})
        if request.method == "POST" and form.is_valid():
            try:
                transactions.refund_record(invoice=invoice, actor=Actor.from_request(request), **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(request, f"Refund of {form.cleaned_data['amount']} recorded.", messages.SUCCESS)
                return redirect("admin:billing_invoice_change", invoice.pk)
        return admin_form_page(self, request, title=f"Refund invoice {invoice}", form=form, invoice=invoice,
                               question=f"Up to {left} {invoice.currency} received by gateway payments can be refunded; "
                                        "when all of it is, the invoice becomes Refunded.")

    def apply_credit_view(self, request, invoice_id):
        invoice = self._invoice(request, invoice_id)
        client = invoice.client
        if request.method == "POST":
            try:
                invoice_pay_from_credit(invoice=invoice, actor=Actor.from_request(request))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, "Credit applied.", messages.SUCCESS)
            return redirect("admin:billing_invoice_change", invoice.pk)
        return admin_form_page(
            self, request, title=f"Apply credit to invoice {invoice}", form=None, invoice=invoice,
            question=f"Apply up to {format_money(invoice.balance, invoice.currency)} {invoice.currency} of the "
                     f"client's credit ({format_money(client.credit_balance, client.currency, spendable=True)} "
                     f"{client.currency} available)?",
        )

    def generate_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            result = generate_invoices(date=timezone.localdate(), actor=Actor.from_request(request))
            self.message_user(request, f"Invoice run for {timezone.localdate()}: {result.summary}.", messages.SUCCESS)
            for warning in result.warnings:
                self.message_user(request, warning, messages.WARNING)
            return redirect("admin:billing_invoice_changelist")
        return admin_form_page(
            self, request, title="Generate due invoices now", form=None,
            question="Bill every service due within the 'invoice days before due' setting, as the daily run does? "
                     "Periods already billed are skipped.",
        )

    @admin.action(description="Cancel selected invoices (what they received goes to credit; a paid one gets a credit note)",
                  permissions=["change"])
    def cancel_invoices(self, request, queryset):
        done = 0
        for invoice in queryset.order_by("pk"):
            try:
                invoice_cancel(invoice=invoice, actor=Actor.from_request(request))
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if done:
            self.message_user(request, f"Cancelled {done} invoice(s).", messages.SUCCESS)


class PaymentAdmin(RecordOnlyAdmin):
    """Payments are recorded from the invoice page, through billing.services.payments. Staff may correct how a
    transaction is described (billing.services.transactions.transaction_update), never its amounts."""

    readonly_fields = ["correct_link"]

    @admin.display(description="Correct")
    def correct_link(self, obj):
        return format_html('<a class="button" href="{}">Correct description, reference, date or fees</a>',
                           reverse("admin:billing_payment_correct", args=[obj.pk]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:payment_id>/correct/", wrap(self.correct_view), name="billing_payment_correct"),
                *super().get_urls()]

    def correct_view(self, request, payment_id):
        if not request.user.has_perm("billing.change_payment"):
            raise PermissionDenied
        payment = get_object_or_404(Payment, pk=payment_id)
        initial = {name: getattr(payment, name) for name in transactions.EDITABLE_FIELDS}
        form = TransactionCorrectionForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                transactions.transaction_update(payment=payment, actor=Actor.from_request(request), **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(request, "Transaction corrected.", messages.SUCCESS)
                return redirect("admin:billing_payment_change", payment.pk)
        return admin_form_page(self, request, title=f"Correct transaction #{payment.pk}", form=form,
                               question=f"{payment.amount or payment.amount_out} {payment.currency}: the amounts, "
                                        "invoice and client stay as recorded (correct money with a new transaction).")

    list_display = ["received_at", "client", "invoice", "amount", "amount_out", "currency", "gateway", "transaction_id"]
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
        wrap = self.admin_site.admin_view
        return [
            path("adjust/", wrap(self.adjust_view), name="billing_creditledgerentry_adjust"),
            path("payment/", wrap(self.payment_view), name="billing_creditledgerentry_payment"),
            path("refund/", wrap(self.refund_view), name="billing_creditledgerentry_refund"),
            *super().get_urls(),
        ]

    def _money_view(self, request, *, title, form_class, run, done,
                    perms=("billing.add_payment", "billing.add_creditledgerentry")):
        """A change of one client's credit: `run(client=, actor=, **the form's other fields)`, one billing
        service call (by default a transaction, Payment, with its ledger entry)."""
        if not request.user.has_perms(perms):
            raise PermissionDenied
        form = form_class(request.POST or None, initial={"client": request.GET.get("client")})
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            client = data.pop("client")
            try:
                run(client=client, actor=Actor.from_request(request), **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(request, done.format(amount=data["amount"], client=client), messages.SUCCESS)
                return redirect(reverse("admin:billing_creditledgerentry_changelist") + f"?client__id__exact={client.pk}")
        return admin_form_page(self, request, title=title, form=form)

    def payment_view(self, request):
        return self._money_view(request, title="Record a payment to a client's credit", form_class=ClientPaymentForm,
                                run=transactions.payment_to_credit, done="{amount} added to the credit of {client}.")

    def refund_view(self, request):
        return self._money_view(request, title="Refund a client's credit", form_class=ClientRefundForm,
                                run=transactions.refund_record, done="{amount} of the credit of {client} refunded.")

    def adjust_view(self, request):
        return self._money_view(request, title="Adjust a client's credit", form_class=ClientCreditAdjustmentForm,
                                run=credit_adjust, done="Credit of {client} adjusted by {amount:+.2f}.",
                                perms=("billing.add_creditledgerentry",))


class ClientCreditAdjustmentForm(CreditAdjustmentForm):
    client = forms.ModelChoiceField(queryset=Client.objects.all(), widget=forms.NumberInput, help_text="The client's id.")
    field_order = ["client", "amount", "reason"]


class ClientPaymentForm(PaymentForm):
    client = forms.ModelChoiceField(queryset=Client.objects.all(), widget=forms.NumberInput, help_text="The client's id.")
    field_order = ["client", "amount", "gateway", "transaction_id", "received_at", "note"]


class ClientRefundForm(RefundForm):
    client = forms.ModelChoiceField(queryset=Client.objects.all(), widget=forms.NumberInput, help_text="The client's id.")
    field_order = ["client", "amount", "gateway", "transaction_id", "received_at", "note"]


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
                option_values=option_values(form.cleaned_data), actor=Actor.from_request(request), staff=True,
                source=Order.Source.STAFF,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            modeladmin.message_user(request, f"Order added: {result.service} (Pending), invoice {result.invoice}.", messages.SUCCESS)
            return redirect("admin:billing_service_change", result.service.pk)
    return admin_form_page(modeladmin, request, title="Add an order", form=form, order_step=product is not None,
                           template="billing/admin/order_form.html")



class BillableItemAdmin(admin.ModelAdmin):
    """Billable items: added and changed through billing.services.billable (validated, audited), invoiced by the
    daily generator or at once with the action; an item already invoiced is stopped, never deleted."""

    list_display = ["id", "description", "client", "amount", "invoice_action", "due_date", "recurrence",
                    "invoice_count", "awaiting_invoice", "invoice"]
    list_filter = ["awaiting_invoice", "invoice_action", "recur_cycle"]
    search_fields = ["description", "client__company_name", "client__last_name", "client__email", "=id"]
    list_select_related = ["client", "invoice"]
    raw_id_fields = ["client"]
    readonly_fields = ["invoice_count", "awaiting_invoice", "invoice", "created_at", "updated_at"]
    actions = ["invoice_now", "stop_items"]

    @admin.display(description="Recurs")
    def recurrence(self, obj):
        if not obj.recurring:
            return "—"
        return f"every {obj.recur_every} {obj.recur_cycle}" + (f", {obj.recur_for} times" if obj.recur_for else "")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("client")
            if not obj.awaiting_invoice:
                fields += ["description", "amount", "taxable", "invoice_action", "due_date", "recur_every",
                           "recur_cycle", "recur_for"]
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in billable.EDITABLE_FIELDS}
            billable.billable_item_update(item=obj, actor=Actor.from_request(request), changes=changes)
        else:
            created = billable.billable_item_create(
                client=obj.client, actor=Actor.from_request(request),
                **{name: form.cleaned_data[name] for name in billable.EDITABLE_FIELDS if name in form.cleaned_data},
            )
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Invoice selected items now (one invoice per client)", permissions=["change"])
    def invoice_now(self, request, queryset):
        try:
            invoices = billable.billable_items_invoice(items=list(queryset), actor=Actor.from_request(request))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"Issued {len(invoices)} invoice(s).", messages.SUCCESS)

    @admin.action(description="Stop selected items (no further invoices)", permissions=["change"])
    def stop_items(self, request, queryset):
        count = billable.billable_items_stop(items=list(queryset), actor=Actor.from_request(request))
        self.message_user(request, f"Stopped {count} item(s).", messages.SUCCESS)
