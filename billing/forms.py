"""Forms of the billing pages. They only check and collect input; the services decide and write."""
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from billing.models import BillingCycle, ConfigurableOption, Service
from billing.pricing import granted_quantity
from billing.services.invoice_edit import LineChange, new_line
from billing.services.invoices import add_funds_limits


def _helper(label):
    helper = FormHelper()
    helper.add_input(Submit("submit", label))
    return helper


def option_fields(options, initial=None):
    """One form field per configurable option, named option_<code> (the services' error keys)."""
    initial = initial or {}
    fields = {}
    for option in options:
        name = f"option_{option.code}"
        if option.kind == ConfigurableOption.Kind.QUANTITY:
            help_text = f"{option.included_quantity} included." if option.included_quantity else ""
            fields[name] = forms.IntegerField(
                label=option.name, min_value=option.min_quantity, max_value=option.max_quantity,
                initial=granted_quantity(option, initial.get(option.code, option.min_quantity)), help_text=help_text,
                required=False,
            )
        else:
            fields[name] = forms.ChoiceField(
                label=option.name, choices=[(c.code, c.label) for c in option.choices.all()],
                initial=initial.get(option.code), required=False,
            )
    return fields


def option_values(cleaned_data):
    return {name.removeprefix("option_"): value for name, value in cleaned_data.items() if name.startswith("option_")}


class OrderForm(forms.Form):
    domain = forms.CharField(max_length=253, help_text="Every order is tied to a domain, e.g. example.com.")
    cycle = forms.ChoiceField(label="Billing cycle")

    def __init__(self, *args, product, options, prices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cycle"].choices = [
            (p.cycle, f"{BillingCycle(p.cycle).label}: {p.price} {p.currency}" + (f" + {p.setup_fee} setup" if p.setup_fee else ""))
            for p in prices
        ]
        if prices:  # the first offered cycle in WHMCS's order (monthly first), not whatever the database returns
            self.fields["cycle"].initial = prices[0].cycle
        self.fields.update(option_fields(options))


class ChangeForm(forms.Form):
    """Upgrade/downgrade: the product (same type) and its options."""

    def __init__(self, *args, products, options, initial_values, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"] = forms.ChoiceField(
            choices=[(p.pk, p.name) for p in products], initial=product.pk, label="Product",
        )
        self.fields.update(option_fields(options, initial_values))


class CancellationForm(forms.Form):
    cancellation_type = forms.ChoiceField(
        label="When", choices=Service.CancellationType.choices, initial=Service.CancellationType.END_OF_PERIOD,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    confirm = forms.BooleanField(label="I understand that cancelling deletes the service and its data.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Request cancellation")


class AddFundsForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2)

    def __init__(self, *args, currency, **kwargs):
        super().__init__(*args, **kwargs)
        low, high = add_funds_limits()
        # The limits are checked by the service (its error lands on this field); the widget only hints them.
        self.fields["amount"].widget.attrs.update(min=str(low), max=str(high), step="0.01")
        self.fields["amount"].help_text = f"Between {low} and {high} {currency}."
        self.helper = _helper("Create add-funds invoice")


class CreditPreferenceForm(forms.Form):
    apply_credit = forms.BooleanField(required=False, label="Pay new invoices from my credit automatically")


class PaymentForm(forms.Form):
    """Staff: record a payment received."""

    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    gateway = forms.CharField(max_length=40, initial="bank_transfer")
    transaction_id = forms.CharField(max_length=120, label="Transaction id")
    received_at = forms.DateTimeField(required=False, help_text="Blank: now.")
    note = forms.CharField(max_length=255, required=False)


class InvoiceEditForm(forms.Form):
    """Staff: edit an unpaid invoice's lines and dates (billing.services.invoice_edit). One row of fields per
    line, plus NEW_LINES blank rows for new lines."""

    NEW_LINES = 3
    date = forms.DateField()
    due_date = forms.DateField()
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(invoice.items.order_by("sort_order", "pk"))
        self.initial.update(date=invoice.date, due_date=invoice.due_date, notes=invoice.notes)
        for item in self.items:
            self.fields[f"description_{item.pk}"] = forms.CharField(max_length=500, initial=item.description,
                                                                    label=f"Line {item.pk}")
            self.fields[f"amount_{item.pk}"] = forms.DecimalField(max_digits=12, decimal_places=2, initial=item.amount,
                                                                  label=f"Line {item.pk} amount")
            self.fields[f"taxable_{item.pk}"] = forms.BooleanField(required=False, initial=item.taxable,
                                                                   label=f"Line {item.pk} taxed")
            if item.period_key:
                self.fields[f"description_{item.pk}"].help_text = "Bills a period: cannot be removed"
            else:
                self.fields[f"delete_{item.pk}"] = forms.BooleanField(required=False, label=f"Remove line {item.pk}")
        for n in range(1, self.NEW_LINES + 1):
            self.fields[f"new_description_{n}"] = forms.CharField(max_length=500, required=False, label=f"New line {n}")
            self.fields[f"new_amount_{n}"] = forms.DecimalField(max_digits=12, decimal_places=2, required=False,
                                                                label=f"New line {n} amount")
            self.fields[f"new_taxable_{n}"] = forms.BooleanField(required=False, initial=True, label=f"New line {n} taxed")

    def clean(self):
        data = super().clean()
        for n in range(1, self.NEW_LINES + 1):
            if data.get(f"new_description_{n}") and data.get(f"new_amount_{n}") is None:
                self.add_error(f"new_amount_{n}", "Give the new line's amount.")
        return data

    def edits(self):
        """The arguments of invoice_update for what was changed."""
        data, changes, deletes = self.cleaned_data, {}, []
        for item in self.items:
            if data.get(f"delete_{item.pk}"):
                deletes.append(item.pk)
                continue
            change = LineChange(data[f"description_{item.pk}"], data[f"amount_{item.pk}"], data[f"taxable_{item.pk}"])
            if (change.description, change.amount, change.taxable) != (item.description, item.amount, item.taxable):
                changes[item.pk] = change
        new = [
            new_line(data[f"new_description_{n}"], data[f"new_amount_{n}"], data[f"new_taxable_{n}"])
            for n in range(1, self.NEW_LINES + 1) if data.get(f"new_description_{n}")
        ]
        return {"line_changes": changes, "new_lines": new, "delete_ids": deletes, "date": data["date"],
                "due_date": data["due_date"], "notes": data["notes"]}


class RefundForm(forms.Form):
    """Staff: money paid back (billing.services.transactions.refund_record)."""

    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    gateway = forms.CharField(max_length=40, initial="bank_transfer")
    transaction_id = forms.CharField(max_length=120, label="Transaction id", help_text="The refund's own reference.")
    received_at = forms.DateTimeField(required=False, label="Paid out at", help_text="Blank: now.")
    note = forms.CharField(max_length=255, required=False)


class TransactionCorrectionForm(forms.Form):
    """Staff: correct how a transaction is described; its amounts never change."""

    note = forms.CharField(max_length=255, required=False, label="Description")
    transaction_id = forms.CharField(max_length=120, label="Transaction id")
    gateway = forms.CharField(max_length=40)
    received_at = forms.DateTimeField(label="Date")
    fees = forms.DecimalField(max_digits=12, decimal_places=2)


class CreditAdjustmentForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, help_text="Negative to take credit away.")
    reason = forms.CharField(max_length=255)
