"""The invoice e-mails name the seller in full (legal name, address, VAT id, registration: {{ seller_details }}),
the buyer, each line's period, the tax per rate and the payment reference and bank details; the PDF of the invoice
is attached to them (billing.emails.invoice_attachment). Only a template still as seeded by 0005 is rewritten: one
staff edited is left alone (its merge fields all still work)."""
import importlib

from django.db import migrations

SEEDED = {name: body for name, _, _, body in
          importlib.import_module("billing.migrations.0005_seed_email_templates").TEMPLATES}

SELLER = """{{ seller_details }}
{% if invoice_footer %}
{{ invoice_footer }}
{% endif %}"""

BANK = """{% if bank_details %}Pay by bank transfer, quoting the payment reference {{ invoice_payment_reference }}:
{{ bank_details }}

{% endif %}"""

BODIES = {
    "Invoice Created": """Dear {{ client_first_name }},

This is a notice that invoice {{ invoice_num }} was created on {{ invoice_date_created }}. It is attached as a PDF.

Amount due: {{ invoice_balance }} {{ invoice_currency }}
Due date: {{ invoice_date_due }}

Invoice items
{{ invoice_items }}

Subtotal: {{ invoice_subtotal }} {{ invoice_currency }}
{% if invoice_tax_lines %}{{ invoice_tax_lines }}
{% endif %}Total: {{ invoice_total }} {{ invoice_currency }}

Billed to
{{ buyer_details }}

""" + BANK + """You can view and pay the invoice in the client area:
{{ invoice_link }}

""" + SELLER,
    "Invoice Payment Confirmation": """Dear {{ client_first_name }},

Thank you: we received full payment for invoice {{ invoice_num }} on {{ invoice_date_paid }}.{% if invoice_proforma_num %}
It was issued as proforma {{ invoice_proforma_num }}.{% endif %} The invoice is attached as a PDF.

Subtotal: {{ invoice_subtotal }} {{ invoice_currency }}
{% if invoice_tax_lines %}{{ invoice_tax_lines }}
{% endif %}Total: {{ invoice_total }} {{ invoice_currency }}
Paid from credit: {{ invoice_credit }}
Paid: {{ invoice_amount_paid }}
Balance: {{ invoice_balance }}

{{ invoice_link }}

""" + SELLER,
    "Invoice Overdue Notice": """Dear {{ client_first_name }},

Invoice {{ invoice_num }}, due on {{ invoice_date_due }}, is still unpaid. It is attached as a PDF.

Balance due: {{ invoice_balance }} {{ invoice_currency }}

""" + BANK + """Please pay it to avoid an interruption of your services:
{{ invoice_link }}

Your account credit is {{ client_credit }} and your unpaid invoices total {{ client_due_invoices_balance }}.

""" + SELLER,
}


def rewrite(apps, old, new):
    EmailTemplate = apps.get_model("billing", "EmailTemplate")
    for template in EmailTemplate.objects.filter(name__in=list(BODIES)):
        if template.body == old[template.name]:
            template.body = new[template.name]
            template.save(update_fields=["body"])


def forwards(apps, schema_editor):
    rewrite(apps, SEEDED, BODIES)


def backwards(apps, schema_editor):
    rewrite(apps, BODIES, SEEDED)


class Migration(migrations.Migration):
    dependencies = [("billing", "0013_seller_profile_proforma_numbers")]
    operations = [migrations.RunPython(forwards, backwards)]
