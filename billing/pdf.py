"""Documents (invoices, credit notes: billing/documents.py) as PDFs, with reportlab.

Every page carries the seller's footer text and "Page X of Y" (a canvas that keeps its pages until it knows
their count); pages after the first name the document at the top, and the lines table repeats its header row on
each page, so a 200-line invoice reads as one document however many pages it fills."""
from io import BytesIO
from xml.sax.saxutils import escape

from django.http import HttpResponse
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.documents import document_filename, invoice_document

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
INSET = 6  # the frame's own padding (points): text starts here, and so do the tables and the page's foot
LEFT = MARGIN + INSET
WIDTH = PAGE_WIDTH - 2 * LEFT
LOGO_BOX = (50 * mm, 20 * mm)
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#bbbbbb")


def _styles():
    base = getSampleStyleSheet()
    normal = ParagraphStyle("doc", parent=base["Normal"], fontSize=9, leading=11.5)
    return {
        "normal": normal,
        "small": ParagraphStyle("small", parent=normal, fontSize=7.5, leading=9.5, textColor=GREY),
        "right": ParagraphStyle("right", parent=normal, alignment=TA_RIGHT),
        "seller": ParagraphStyle("seller", parent=normal, fontName="Helvetica-Bold", fontSize=13, leading=16),
        "title": ParagraphStyle("title", parent=normal, fontName="Helvetica-Bold", fontSize=18, leading=22,
                                alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", parent=normal, fontName="Helvetica-Bold", fontSize=10, leading=13,
                                  spaceBefore=2, spaceAfter=2),
        "cell": ParagraphStyle("cell", parent=normal, fontSize=8.5, leading=10.5),
    }


def text(value):
    return escape(str(value)).replace("\n", "<br/>")


def _lines(*values):
    return "<br/>".join(text(v) for v in values if v)


def document_pdf(document):
    """The PDF bytes of a Document."""
    styles = _styles()
    footer = Paragraph(text(document.seller.footer), styles["small"]) if document.seller.footer else None
    footer_height = footer.wrap(WIDTH, PAGE_HEIGHT)[1] if footer else 0
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN + footer_height + 8 * mm,
        title=f"{document.title} {document.number}", author=document.seller.name,
    )
    name = f"{document.title} {document.number} · {document.seller.name}"

    def later_page(pdf, _doc):
        pdf.saveState()
        pdf.setFont("Helvetica", 8)
        pdf.setFillColor(GREY)
        pdf.drawString(LEFT, PAGE_HEIGHT - MARGIN + 3 * mm, f"{name} (continued)")
        pdf.restoreState()

    doc.build(_story(document, styles), onLaterPages=later_page, canvasmaker=_numbered_canvas(name, footer))
    return buffer.getvalue()


def pdf_response(document):
    """A document's PDF as a download named after it (invoice-INV-2026-000042.pdf)."""
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(document)}"'
    return response


def invoice_pdf(invoice):
    """The PDF bytes of an invoice (its items, payments and client loaded by the caller's selector)."""
    return document_pdf(invoice_document(invoice))


def _numbered_canvas(name, footer):
    """A canvas class that draws every page's foot once the page count is known: the footer text, the
    document's name and "Page X of Y"."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            count = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._draw_foot(number, count)
                super().showPage()
            super().save()

        def _draw_foot(self, number, count):
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            top = MARGIN + (footer.height if footer else 0) + 5 * mm
            self.line(LEFT, top, PAGE_WIDTH - LEFT, top)
            if footer:
                footer.drawOn(self, LEFT, MARGIN + 4 * mm)
            self.setFont("Helvetica", 8)
            self.setFillColor(GREY)
            self.drawString(LEFT, MARGIN, name)
            self.drawRightString(PAGE_WIDTH - LEFT, MARGIN, f"Page {number} of {count}")
            self.restoreState()

    return NumberedCanvas


def _logo(seller):
    if not seller.logo:
        return None
    reader = ImageReader(BytesIO(seller.logo))
    width, height = reader.getSize()
    scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height, 1.0 * mm)  # never blown up past 1 px = 1 mm
    logo = Image(BytesIO(seller.logo), width=width * scale, height=height * scale)
    logo.hAlign = "LEFT"
    return logo


def _party(party, styles, heading=None):
    parts = [f"<b>{text(heading)}</b>"] if heading else []
    parts.append(f"<b>{text(party.name)}</b>")
    if party.company:
        parts.append(text(party.company))
    parts += [text(line) for line in party.address]
    if party.tax_id:
        parts.append(f"VAT / tax ID: {text(party.tax_id)}")
    if party.registration:
        parts.append(text(party.registration))
    parts += [text(line) for line in party.contact]
    return Paragraph("<br/>".join(parts), styles["normal"])


def _head(document, styles):
    seller = document.seller
    left = [flowable for flowable in (_logo(seller),) if flowable]
    left.append(Paragraph(text(seller.name), styles["seller"]))
    left.append(Paragraph(_lines(*seller.address, seller.tax_id and f"VAT / tax ID: {seller.tax_id}",
                                 seller.registration, " · ".join(seller.contact)), styles["normal"]))
    facts = [f"<b>{text(document.number)}</b>", text(document.status)]
    facts += [f"{text(label)}: {text(value)}" for label, value in document.references]
    facts += [f"{text(label)}: {value.isoformat()}" for label, value in document.dates]
    right = [Paragraph(text(document.title), styles["title"]), Paragraph("<br/>".join(facts), styles["right"])]
    table = Table([[left, right]], colWidths=[WIDTH * 0.62, WIDTH * 0.38])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0),
                               ("RIGHTPADDING", (-1, 0), (-1, 0), 0)]))
    return table


def _lines_table(document, styles):
    rows = [["Description", "Service period", f"Amount ({document.currency})"]]
    for line in document.lines:
        rows.append([Paragraph(text(line.description), styles["cell"]), Paragraph(text(line.period), styles["cell"]),
                     document.money(line.amount)])
    table = Table(rows, colWidths=[WIDTH - 72 * mm, 44 * mm, 28 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black), ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("ALIGN", (2, 0), (2, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _tax_table(document):
    rows = [["Tax", "Rate", f"Base ({document.currency})", f"Tax ({document.currency})"]]
    rows += [[row.name, f"{row.rate.normalize():f} %", document.money(row.base), document.money(row.tax)]
             for row in document.tax_rows]
    table = Table(rows, colWidths=[WIDTH - 96 * mm, 24 * mm, 36 * mm, 36 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]))
    return table


def _totals_table(document):
    rows = [[row.label, f"{document.money(row.amount)} {document.currency}"] for row in document.totals]
    table = Table(rows, colWidths=[WIDTH - 40 * mm, 40 * mm])
    style = [("ALIGN", (0, 0), (-1, -1), "RIGHT"), ("FONTSIZE", (0, 0), (-1, -1), 9),
             ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE)]
    style += [("FONTNAME", (0, n), (-1, n), "Helvetica-Bold") for n, row in enumerate(document.totals) if row.strong]
    table.setStyle(TableStyle(style))
    return table


def _payment_block(document, styles):
    flowables = [Paragraph("Payment", styles["heading"])]
    intro = [f"Payment reference: <b>{text(document.payment_reference)}</b>"]
    if document.amount_to_pay is not None and document.bank:
        intro.insert(0, f"Pay {text(document.money(document.amount_to_pay))} {text(document.currency)} by bank "
                        "transfer, quoting the payment reference exactly as shown.")
    flowables.append(Paragraph("<br/>".join(intro), styles["normal"]))
    if document.bank:
        rows = [[label, value] for label, value in document.bank.lines()]
        table = Table(rows, colWidths=[36 * mm, WIDTH - 36 * mm])
        table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8.5), ("TEXTCOLOR", (0, 0), (0, -1), GREY),
                                   ("LEFTPADDING", (0, 0), (0, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1)]))
        flowables += [Spacer(1, 1.5 * mm), table]
    return KeepTogether(flowables)


def _story(document, styles):
    story = [_head(document, styles), Spacer(1, 6 * mm), _party(document.buyer, styles, heading="Credited to" if document.kind == "credit_note" else "Billed to"),
             Spacer(1, 5 * mm), _lines_table(document, styles), Spacer(1, 3 * mm)]
    if document.tax_rows:
        story += [KeepTogether([Paragraph("Tax breakdown", styles["heading"]), _tax_table(document)]),
                  Spacer(1, 4 * mm)]
    story += [_totals_table(document), Spacer(1, 4 * mm)]
    story += [Paragraph(text(note), styles["normal"]) for note in document.legal_notes]
    if document.payment_reference:  # a credit note is not paid by transfer
        story += [Spacer(1, 2 * mm), _payment_block(document, styles)]
    if document.payments:
        lines = [f"{day.isoformat()} — {document.money(amount)} {document.currency} ({method})"
                 for day, amount, method in document.payments]
        story += [Spacer(1, 4 * mm), KeepTogether([Paragraph("Payments received", styles["heading"]),
                                                   Paragraph(_lines(*lines), styles["normal"])])]
    if document.notes:
        story += [Spacer(1, 4 * mm), Paragraph("Notes", styles["heading"]),
                  Paragraph(text(document.notes), styles["normal"])]
    story += [Spacer(1, 3 * mm), *(Paragraph(text(note), styles["normal"]) for note in document.payer_notes)]
    return story
