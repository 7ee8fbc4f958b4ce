"""Client area: the client's contacts (people who receive copies of its e-mails), listed, added, edited and
deleted through portal.contacts. Every contact is looked up within the signed-in client, so another client's id
answers 404."""
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row, Submit
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from portal.activity import Actor
from portal.contacts import CONTACT_FIELDS, contact_create, contact_delete, contact_update
from portal.forms import apply_errors
from portal.models import Contact
from portal.phones import HELP_TEXT as PHONE_HELP
from portal.views import client_required

# Domain and support e-mails are kept for WHMCS compatibility but the portal sends none: not offered here.
FORM_FIELDS = tuple(f for f in CONTACT_FIELDS if f not in ("domain_emails", "support_emails"))


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = FORM_FIELDS
        help_texts = {"phone": PHONE_HELP}
        labels = {
            "general_emails": "General e-mails (account notices, low balance)",
            "invoice_emails": "Invoice e-mails (new invoices, payment confirmations, overdue notices)",
            "product_emails": "Product e-mails (suspension, reactivation, termination of services)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Row(Column("first_name"), Column("last_name")),
            Row(Column("email"), Column("phone")),
            "company_name", "address1", "address2",
            Row(Column("city"), Column("state"), Column("postcode"), Column("country")),
            Fieldset("E-mails this contact receives", "general_emails", "invoice_emails", "product_emails"),
        )
        self.helper.add_input(Submit("submit", "Save contact"))
        # Upper-case the country before the model's validator (two capital letters) sees it.
        if self.data.get("country"):
            self.data = self.data.copy()
            self.data["country"] = self.data["country"].strip().upper()


@client_required
def contact_list(request):
    contacts = Contact.objects.filter(client=request.client).order_by("last_name", "first_name", "pk")
    return render(request, "portal/contacts.html", {"contacts": contacts})


@client_required
def contact_add(request):
    form = ContactForm(request.POST or None, instance=Contact(client=request.client))  # its country reads the phone
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in FORM_FIELDS}
        try:
            contact_create(client=request.client, actor=Actor.from_request(request), **values)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The contact was added.")
            return redirect("clientarea:contacts")
    return render(request, "portal/contact_form.html", {"form": form, "contact": None})


@client_required
def contact_edit(request, contact_id):
    contact = get_object_or_404(Contact, pk=contact_id, client=request.client)
    form = ContactForm(request.POST or None, instance=Contact.objects.get(pk=contact.pk))
    if request.method == "POST" and form.is_valid():
        # The form validated a copy; the service applies and audits the change on the real row.
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            contact_update(contact=contact, actor=Actor.from_request(request), changes=changes)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The contact was saved." if changes else "Nothing changed.")
            return redirect("clientarea:contacts")
    return render(request, "portal/contact_form.html", {"form": form, "contact": contact})


@client_required
def contact_delete_view(request, contact_id):
    contact = get_object_or_404(Contact, pk=contact_id, client=request.client)
    if request.method == "POST":
        contact_delete(contact=contact, actor=Actor.from_request(request))
        messages.success(request, f"{contact.full_name} was removed from your contacts.")
        return redirect("clientarea:contacts")
    return render(request, "portal/contact_delete.html", {"contact": contact})
