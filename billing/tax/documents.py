"""Tax on invoices: decide and compute for a batch of drafts (one query for the rules of all of them), the
invoice fields and tax-line rows that record it, and re-totalling an invoice whose lines changed at the rates it
was issued with (not today's)."""
from django.conf import settings

from billing.models import InvoiceTaxLine, TaxRounding
from billing.tax.compute import Level, compute
from billing.tax.treatment import RuleBook, decide


def current_mode():
    """(prices include tax, rounding) as the settings say today: new invoices keep them."""
    return settings.TAX_PRICES_INCLUDE_TAX, settings.TAX_ROUNDING


def tax_for_clients(clients_and_lines):
    """[(Decision, TaxResult)] for (client, lines) pairs; lines are (amount, taxable) pairs."""
    pairs = list(clients_and_lines)
    book = RuleBook.for_clients(client for client, _ in pairs)
    inclusive, rounding = current_mode()
    out = []
    for client, lines in pairs:
        decision = decide(client, book)
        result = compute(lines, decision.levels, inclusive=inclusive,
                         per_line=rounding == TaxRounding.LINE)
        out.append((decision, result))
    return out


def invoice_tax_fields(decision, result):
    """The Invoice fields of a decision and its computation: net + tax = gross."""
    inclusive, rounding = current_mode()
    return dict(
        subtotal=result.net, tax=result.tax, total=result.gross, tax_rate=result.rate(1), tax_rate2=result.rate(2),
        prices_include_tax=inclusive, tax_rounding=rounding, tax_treatment=decision.treatment,
        tax_note=decision.note, tax_evidence=decision.evidence,
    )


def tax_line_rows(invoice_id, result, model=InvoiceTaxLine, owner="invoice_id"):
    return [
        model(**{owner: invoice_id}, level=line.level.level, name=line.level.name, rate=line.level.rate,
              compound=line.level.compound, country=line.level.country, region=line.level.region,
              base=line.base, tax=line.tax)
        for line in result.lines
    ]


def stored_levels(tax_lines):
    return [Level(t.level, t.name, t.rate, t.compound, t.country, t.region) for t in tax_lines]


def _tax_lines_of(invoice):
    """The invoice's tax lines; an invoice written with a rate but no breakdown (before tax lines, or by hand)
    gets its level 1 line from that rate, as migration billing.0015 gave the invoices of its time."""
    lines = list(InvoiceTaxLine.objects.filter(invoice_id=invoice.pk).order_by("level"))
    if not lines and invoice.tax_rate:
        lines = [InvoiceTaxLine.objects.create(invoice_id=invoice.pk, level=1, name="Tax", rate=invoice.tax_rate)]
    return lines


def retotal(invoice, items):
    """Recompute an invoice's net, tax and gross from `items` at its own levels and mode, updating its tax lines.
    The caller saves the invoice's totals (subtotal, tax, total)."""
    lines = _tax_lines_of(invoice)
    levels = stored_levels(lines)
    result = compute(((item.amount, item.taxable) for item in items), levels, inclusive=invoice.prices_include_tax,
                     per_line=invoice.tax_rounding == TaxRounding.LINE)
    invoice.subtotal, invoice.tax, invoice.total = result.net, result.tax, result.gross
    for line, figures in zip(lines, result.lines):
        line.base, line.tax = figures.base, figures.tax
    InvoiceTaxLine.objects.bulk_update(lines, ["base", "tax"])
    return result


def copy_tax_setup(source, target, items):
    """Give `target` (a new invoice split off `source`) the source's levels and mode, and its totals of `items`."""
    for name in ("prices_include_tax", "tax_rounding", "tax_treatment", "tax_note", "tax_evidence", "tax_rate", "tax_rate2"):
        setattr(target, name, getattr(source, name))
    levels = stored_levels(_tax_lines_of(source))
    result = compute(((item.amount, item.taxable) for item in items), levels, inclusive=source.prices_include_tax,
                     per_line=source.tax_rounding == TaxRounding.LINE)
    target.subtotal, target.tax, target.total = result.net, result.tax, result.gross
    return result

