"""Client-area credit notes (beside the invoices): the list, a credit note's page and its PDF. Scoped to
request.client through the selectors (404 for anyone else's)."""
from django.core.paginator import Paginator
from django.shortcuts import render

from billing import selectors
from billing.documents import credit_note_document
from billing.pdf import pdf_response
from portal.views import PAGE_SIZE, client_required


@client_required
def credit_note_list(request):
    page = Paginator(selectors.client_credit_notes(request.client), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/credit_note_list.html", {"page": page})


@client_required
def credit_note_detail(request, credit_note_id):
    note = selectors.client_credit_note(request.client, credit_note_id)
    return render(request, "billing/credit_note_detail.html", {"note": note, "document": credit_note_document(note)})


@client_required
def credit_note_pdf(request, credit_note_id):
    return pdf_response(credit_note_document(selectors.client_credit_note(request.client, credit_note_id)))
