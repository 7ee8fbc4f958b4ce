"""REST representations. Writes are validated here for shape only; the services enforce the rules."""
from rest_framework import serializers

from billing import selectors as billing_selectors
from billing.models import (
    BillingCycle,
    CreditLedgerEntry,
    Invoice,
    InvoiceItem,
    Payment,
    Product,
    ProductPrice,
    Service,
)
from portal import selectors as portal_selectors
from portal.models import ActivityLog, Client
from portal.money import format_money
from portal.services import PROFILE_FIELDS


class ClientSerializer(serializers.ModelSerializer):
    # Credit as every page shows it (what may be spent, rounded down) and the ledger's exact sum (docs/billing.md).
    credit_balance = serializers.SerializerMethodField(help_text="What may be spent: rounded down, e.g. 24.51.")
    credit_balance_exact = serializers.SerializerMethodField(help_text="The ledger's sum to four places, e.g. 24.5161.")

    class Meta:
        model = Client
        fields = ["id", *PROFILE_FIELDS, "vat_check", "vat_checked_at", "currency", "status", "tax_exempt",
                  "credit_balance", "credit_balance_exact", "low_balance_threshold", "created_at", "last_login_at"]
        read_only_fields = ["status", "tax_exempt", "vat_check", "vat_checked_at", "low_balance_threshold", "created_at",
                            "last_login_at"]

    def get_credit_balance(self, client) -> str:
        return format_money(client.credit_balance, client.currency, spendable=True)

    def get_credit_balance_exact(self, client) -> str:
        return format_money(client.credit_balance, client.currency, exact=True)


class ClientCreateSerializer(ClientSerializer):
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=128,
                                     style={"input_type": "password"})

    class Meta(ClientSerializer.Meta):
        fields = [*ClientSerializer.Meta.fields, "password"]


class ClientUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = list(PROFILE_FIELDS)
        extra_kwargs = {name: {"required": False} for name in PROFILE_FIELDS}


class ProductPriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductPrice
        fields = ["currency", "cycle", "price", "setup_fee"]


class ProductSerializer(serializers.ModelSerializer):
    prices = ProductPriceSerializer(many=True, read_only=True)
    group = serializers.CharField(source="group.name", read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "group", "type", "description", "module", "hidden", "retired", "prices"]


class ServiceSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = Service
        fields = ["id", "client", "product", "product_name", "domain", "status", "billing_cycle", "currency",
                  "first_payment_amount", "recurring_amount", "registration_date", "next_due_date", "next_invoice_date",
                  "suspend_reason", "suspend_reason_text", "suspended_at", "terminated_at", "server", "username",
                  "disk_usage_mb", "disk_limit_mb", "cancellation_type", "cancellation_requested_at"]
        read_only_fields = fields


class OrderSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=portal_selectors.clients())
    product = serializers.PrimaryKeyRelatedField(queryset=billing_selectors.products())
    domain = serializers.CharField(max_length=253)
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices)
    options = serializers.DictField(child=serializers.CharField(max_length=60), required=False, default=dict)


class OrderResultSerializer(serializers.Serializer):
    service = ServiceSerializer()
    invoice = serializers.IntegerField(source="invoice.pk")


class SuspendSerializer(serializers.Serializer):
    reason_text = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(min_length=8, max_length=128, style={"input_type": "password"})


class CancelSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=Service.CancellationType.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ChangeSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=billing_selectors.products(), required=False)
    options = serializers.DictField(child=serializers.CharField(max_length=60), required=False)
    confirm = serializers.BooleanField(default=False, help_text="false: only quote the prorated amount (calconly).")
    expected_amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)


class ChangeQuoteSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk")
    old_recurring = serializers.DecimalField(max_digits=12, decimal_places=2)
    new_recurring = serializers.DecimalField(max_digits=12, decimal_places=2)
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True, help_text="Exclusive: the next due date when paid up.")
    days_left = serializers.IntegerField()
    days_in_period = serializers.IntegerField()
    period_text = serializers.CharField(help_text="The period in words, e.g. '12 of 30 days left in the period …'.")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    invoice = serializers.IntegerField(allow_null=True, required=False)
    change_status = serializers.CharField(
        allow_null=True, required=False,
        help_text="On confirm: 'pending' (takes effect when the invoice is paid) or 'applied'.",
    )


class InvoiceItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceItem
        fields = ["id", "kind", "description", "amount", "taxable", "service", "period_start", "period_end"]


class InvoiceSerializer(serializers.ModelSerializer):
    items = InvoiceItemSerializer(many=True, read_only=True)
    balance = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Invoice
        fields = ["id", "number", "proforma_number", "client", "kind", "status", "currency", "date", "due_date", "paid_at",
                  "subtotal", "tax_rate", "tax_rate2", "tax", "total", "prices_include_tax", "tax_treatment", "tax_note",
                  "credit_applied", "amount_paid", "balance", "notes", "items"]
        read_only_fields = fields


class LineSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=-10**9, max_value=10**9)
    taxable = serializers.BooleanField(default=True)


class InvoiceCreateSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=portal_selectors.clients())
    lines = LineSerializer(many=True, allow_empty=False, max_length=200)
    due_date = serializers.DateField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ApplyCreditSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                      help_text="Blank: as much as the credit and the balance allow.")


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "invoice", "client", "amount", "amount_out", "refund_of", "fees", "currency", "gateway",
                  "transaction_id", "received_at", "note"]
        read_only_fields = ["client", "currency", "amount_out", "refund_of"]
        extra_kwargs = {"invoice": {"required": True, "allow_null": False}, "received_at": {"required": False}}
        validators = []  # the (gateway, transaction id) rule is the service's: a repeat returns the first payment


class CreditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditLedgerEntry
        fields = ["id", "created_at", "kind", "amount", "description", "invoice", "payment", "service"]


class CreditSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    balance = serializers.SerializerMethodField(help_text="What may be spent: rounded down, e.g. 24.51.")
    balance_exact = serializers.SerializerMethodField(help_text="The ledger's sum to four places, e.g. 24.5161.")
    entries = CreditEntrySerializer(many=True)

    def get_balance(self, data) -> str:
        return format_money(data["balance"], data["currency"], spendable=True)

    def get_balance_exact(self, data) -> str:
        return format_money(data["balance"], data["currency"], exact=True)


class CreditAdjustSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=-10**9, max_value=10**9)
    reason = serializers.CharField(max_length=255)


class ActivityLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityLog
        fields = ["id", "created_at", "actor_type", "actor_label", "action", "client", "target_repr", "target_id",
                  "message", "data", "ip_address"]
