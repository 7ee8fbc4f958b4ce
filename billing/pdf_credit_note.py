"""The credit note as a PDF (reportlab), in the invoice PDF's style (billing/pdf.py): the same facts as its page —
the invoice it credits, the lines and the tax breakdown in negative, the totals and the tax note."""
from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.money import format_money


def credit_note_pdf(note):
    """The PDF bytes of a credit note (its items, tax lines, invoice and client loaded by the caller's selector)."""
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
        title=f"Credit note {note}", author=settings.PORTAL_NAME,
    )
    styles = getSampleStyleSheet()
    text = lambda value: escape(str(value)).replace("\n", "<br/>")  # noqa: E731
    money = lambda amount: format_money(amount, note.currency)  # noqa: E731
    client = note.client
    address = [client.display_name, client.address1, client.address2, f"{client.postcode} {client.city}".strip(),
               client.country, f"VAT number: {client.vat_number}" if client.vat_number else ""]
    story = [
        Paragraph(text(settings.PORTAL_NAME), styles["Title"]),
        Paragraph(f"Credit note {text(note)}", styles["Heading2"]),
        Paragraph(f"Date: {note.date}<br/>Credits invoice: {text(note.invoice)} of {note.invoice.date}<br/>"
                  f"{text(note.get_kind_display())}: {text(note.reason)}", styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph("<b>Credited to</b><br/>" + "<br/>".join(text(line) for line in address if line), styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    items = list(note.items.all())
    rows = [["Description", f"Amount ({note.currency})"]]
    rows += [[Paragraph(text(item.description), styles["Normal"]), money(item.amount)] for item in items]
    rows.append(["Net", money(note.subtotal)])
    for line in note.tax_lines.all():
        rows.append([f"{line.name} {line.rate.normalize()}% on {money(line.base)}", money(line.tax)])
    rows.append(["Total", money(note.total)])
    table = Table(rows, colWidths=[130 * mm, 40 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (0, 1 + len(items)), (-1, 1 + len(items)), 0.5, colors.grey),
        ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
    ]))
    story.append(table)
    if note.prices_include_tax:
        story += [Spacer(1, 3 * mm), Paragraph("Line amounts include tax.", styles["Normal"])]
    if note.tax_note:
        story += [Spacer(1, 6 * mm), Paragraph(text(note.tax_note), styles["Normal"])]
    doc.build(story)
    return buffer.getvalue()
