"""Client-area credit notes (beside the invoices): the list, a credit note's page and its PDF. Scoped to
request.client through the selectors (404 for anyone else's)."""
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from billing import selectors
from billing.pdf_credit_note import credit_note_pdf as render_credit_note_pdf
from portal.views import PAGE_SIZE, client_required


@client_required
def credit_note_list(request):
    page = Paginator(selectors.client_credit_notes(request.client), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/credit_note_list.html", {"page": page})


@client_required
def credit_note_detail(request, credit_note_id):
    note = selectors.client_credit_note(request.client, credit_note_id)
    return render(request, "billing/credit_note_detail.html", {"note": note})


@client_required
def credit_note_pdf(request, credit_note_id):
    note = selectors.client_credit_note(request.client, credit_note_id)
    response = HttpResponse(render_credit_note_pdf(note), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="credit-note-{note.number}.pdf"'
    return response
