"""The tax report (the OSS return's figures): per period, per country, region and rate — net, tax and gross — of
invoices and of credit notes, and the two together. Two grouped queries whatever the number of documents.

An invoice counts from its date once it is issued (numbered), unless it was cancelled without ever being paid (a
cancelled paid invoice counts, and so does the credit note that cancelled it: together they are zero). A credit
note counts from its own date. Each row's net is the base its rate was charged on; with two levels the same net
shows on both levels' rows."""
from collections import OrderedDict
from dataclasses import dataclass

from django.db.models import Q, Sum

from billing.models import CreditNoteTaxLine, Invoice, InvoiceTaxLine
from portal.money import ZERO

COUNTED_INVOICES = Q(invoice__number__isnull=False) & (
    Q(invoice__status__in=[Invoice.Status.UNPAID, Invoice.Status.PAID, Invoice.Status.REFUNDED])
    | Q(invoice__status=Invoice.Status.CANCELLED, invoice__paid_at__isnull=False)
)


@dataclass
class ReportRow:
    currency: str
    country: str
    region: str
    level: int
    name: str
    rate: object
    invoice_net: object = ZERO
    invoice_tax: object = ZERO
    credit_net: object = ZERO
    credit_tax: object = ZERO

    @property
    def net(self):
        return self.invoice_net + self.credit_net

    @property
    def tax(self):
        return self.invoice_tax + self.credit_tax

    @property
    def gross(self):
        return self.net + self.tax

    @property
    def invoice_gross(self):
        return self.invoice_net + self.invoice_tax

    @property
    def credit_gross(self):
        return self.credit_net + self.credit_tax


def _grouped(queryset, owner):
    return (queryset.values(f"{owner}__currency", "country", "region", "level", "name", "rate")
            .annotate(net=Sum("base"), taxed=Sum("tax")).order_by())


def tax_report(*, start, end, invoice_ids=None):
    """ReportRows for documents dated start..end (inclusive), sorted by currency, country, region, level, rate.
    `invoice_ids` narrows it to some invoices and their credit notes."""
    invoices = InvoiceTaxLine.objects.filter(COUNTED_INVOICES, invoice__date__range=(start, end))
    credits = CreditNoteTaxLine.objects.filter(credit_note__date__range=(start, end))
    if invoice_ids is not None:
        invoices = invoices.filter(invoice_id__in=invoice_ids)
        credits = credits.filter(credit_note__invoice_id__in=invoice_ids)
    rows = OrderedDict()
    for owner, queryset, prefix in (("invoice", invoices, "invoice"), ("credit_note", credits, "credit")):
        for group in _grouped(queryset, owner):
            key = (group[f"{owner}__currency"], group["country"], group["region"], group["level"], group["name"],
                   group["rate"])
            row = rows.setdefault(key, ReportRow(*key))
            setattr(row, f"{prefix}_net", getattr(row, f"{prefix}_net") + group["net"])
            setattr(row, f"{prefix}_tax", getattr(row, f"{prefix}_tax") + group["taxed"])
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1], k[2].upper(), k[3], k[5], k[4]))]


CSV_HEADER = ["currency", "country", "region", "level", "tax", "rate", "invoices_net", "invoices_tax", "invoices_gross",
              "credit_notes_net", "credit_notes_tax", "credit_notes_gross", "net", "tax_total", "gross"]


def csv_rows(rows):
    for r in rows:
        yield [r.currency, r.country, r.region, r.level, r.name, r.rate, r.invoice_net, r.invoice_tax, r.invoice_gross,
               r.credit_net, r.credit_tax, r.credit_gross, r.net, r.tax, r.gross]
