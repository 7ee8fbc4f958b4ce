"""The invoice as a PDF (reportlab): the same facts as the printable page."""
from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.payment_reference import bank_transfer_instructions
from portal.money import format_money


def invoice_pdf(invoice):
    """The PDF bytes of an invoice (its items and payments prefetched by the caller's selector)."""
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
        title=f"Invoice {invoice}", author=settings.PORTAL_NAME,
    )
    styles = getSampleStyleSheet()
    text = lambda value: escape(str(value)).replace("\n", "<br/>")  # noqa: E731
    client = invoice.client
    address = [client.display_name, client.address1, client.address2, f"{client.postcode} {client.city}".strip(), client.country]
    story = [
        Paragraph(text(settings.PORTAL_NAME), styles["Title"]),
        Paragraph(f"Invoice {text(invoice)} — {text(invoice.get_status_display())}", styles["Heading2"]),
        Paragraph(
            f"Date: {invoice.date}<br/>Due: {invoice.due_date}"
            + (f"<br/>Paid: {invoice.paid_at:%Y-%m-%d}" if invoice.paid_at else ""),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        Paragraph("<b>Billed to</b><br/>" + "<br/>".join(text(line) for line in address if line), styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    money = lambda amount: format_money(amount, invoice.currency)  # noqa: E731
    rows = [["Description", f"Amount ({invoice.currency})"]]
    for item in invoice.items.all():
        rows.append([Paragraph(text(item.description), styles["Normal"]), money(item.amount)])
    rows.append(["Subtotal", money(invoice.subtotal)])
    tax_lines = list(invoice.tax_lines.all())
    for line in tax_lines:  # the breakdown per rate (docs/tax.md); a reverse charge shows its 0 % line
        rows.append([f"{line.name} {line.rate.normalize()}%{' (compound)' if line.compound else ''} on {money(line.base)}",
                     money(line.tax)])
    if invoice.tax and not tax_lines:
        rows.append([f"Tax ({invoice.tax_rate.normalize()}%)", money(invoice.tax)])
    rows.append(["Total", money(invoice.total)])
    if invoice.credit_applied:
        rows.append(["Credit applied", f"-{money(invoice.credit_applied)}"])
    if invoice.amount_paid:
        rows.append(["Paid", f"-{money(invoice.amount_paid)}"])
    rows.append(["Balance due", money(invoice.balance)])
    table = Table(rows, colWidths=[130 * mm, 40 * mm], repeatRows=1)
    totals_from = 1 + len(invoice.items.all())
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, totals_from), (-1, totals_from), 0.5, colors.grey),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story.append(table)
    if invoice.prices_include_tax:
        story += [Spacer(1, 3 * mm), Paragraph("Line amounts include tax.", styles["Normal"])]
    if invoice.tax_note:
        story += [Spacer(1, 4 * mm), Paragraph(text(invoice.tax_note), styles["Normal"])]
    payments = list(invoice.payments.all())
    if payments:
        story += [Spacer(1, 6 * mm), Paragraph("Payments", styles["Heading3"])]
        for p in payments:
            amount = format_money(p.amount, p.currency)
            story.append(Paragraph(text(f"{p.received_at:%Y-%m-%d} — {amount} {p.currency} ({p.gateway}, {p.transaction_id})"), styles["Normal"]))
    transfer = bank_transfer_instructions(invoice)
    if transfer:
        bank = transfer["bank"]
        lines = [f"Account name: {bank.account_name}", f"IBAN: {bank.iban_display}"]
        lines += [f"BIC: {bank.bic}"] if bank.bic else []
        lines += [f"Bank: {bank.bank_name}"] if bank.bank_name else []
        lines += [f"Amount: {money(transfer['amount'])} {transfer['currency']}",
                  f"Payment reference: {transfer['reference']}"]
        story += [Spacer(1, 6 * mm), Paragraph("Pay by bank transfer", styles["Heading3"]),
                  Paragraph("<br/>".join(text(line) for line in lines), styles["Normal"])]
    if invoice.status == invoice.Status.UNPAID:
        # As on the invoice page: the credit that may pay it, shown as every page shows it (rounded down).
        balance = format_money(client.credit_balance, client.currency, spendable=True)
        line = f"Your credit balance: {balance} {client.currency}"
        story += [Spacer(1, 6 * mm), Paragraph(text(line), styles["Normal"])]
    doc.build(story)
    return buffer.getvalue()
