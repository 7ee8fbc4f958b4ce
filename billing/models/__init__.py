"""The billing models, one module a topic: the catalogue (products, prices, options, billing cycles), services,
invoices, tax rules and breakdowns, credit notes, payments and the credit ledger, billable items, e-mails, the automation
settings and the seller's profile. Money is Decimal everywhere (DecimalField); amounts are quantized where the billing
rules say.

Every model and shared name is exported here, so `from billing.models import X` is the one way in; the topic
modules import each other only down the chain catalogue → services → invoices → payments/e-mails/billable."""
from billing.models.automation import AutomationSettings, OverwriteRule
from billing.models.billable import BillableItem
from billing.models.catalogue import (
    CYCLE_MONTHS,
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    Product,
    ProductGroup,
    ProductPrice,
)
from billing.models.credit_notes import CreditNote, CreditNoteItem, CreditNoteTaxLine
from billing.models.emails import EmailLog, EmailTemplate
from billing.models.fields import MONEY, ZERO
from billing.models.invoices import Invoice, InvoiceItem, NumberSequence, TaxRounding, TaxTreatment
from billing.models.orders import Order, Promotion
from billing.models.payments import CreditLedgerEntry, Payment
from billing.models.seller import SellerBankAccount, SellerProfile
from billing.models.services import Service, ServiceChange, ServiceConfigOption
from billing.models.tax import InvoiceTaxLine, TaxRule

__all__ = [
    "CYCLE_MONTHS",
    "MONEY",
    "ZERO",
    "AutomationSettings",
    "BillableItem",
    "BillingCycle",
    "ConfigurableOption",
    "ConfigurableOptionChoice",
    "ConfigurableOptionPrice",
    "CreditLedgerEntry",
    "CreditNote",
    "CreditNoteItem",
    "CreditNoteTaxLine",
    "EmailLog",
    "EmailTemplate",
    "Invoice",
    "InvoiceItem",
    "InvoiceTaxLine",
    "NumberSequence",
    "Order",
    "OverwriteRule",
    "Payment",
    "Product",
    "ProductGroup",
    "ProductPrice",
    "Promotion",
    "SellerBankAccount",
    "SellerProfile",
    "Service",
    "ServiceChange",
    "ServiceConfigOption",
    "TaxRounding",
    "TaxRule",
    "TaxTreatment",
]
