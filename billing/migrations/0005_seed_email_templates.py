"""The e-mail templates the portal sends, in Django template syntax with WHMCS merge-field names.

"Low Balance Alert" and "VoIP Zero Balance" are the texts of seed 002 (the ictVoIP documentation), with the
vendor's own name and add-funds address replaced by {{ company_name }} and {{ add_funds_url }}. Existing
templates of the same name (edited by staff, or imported) are left alone."""
from django.db import migrations

TEMPLATES = [
    (
        "Invoice Created", "invoice", "Invoice {{ invoice_num }} from {{ company_name }}",
        """Dear {{ client_first_name }},

This is a notice that invoice {{ invoice_num }} was created on {{ invoice_date_created }}.

Amount due: {{ invoice_balance }} {{ invoice_currency }}
Due date: {{ invoice_date_due }}

Invoice items
{{ invoice_items }}

Total: {{ invoice_total }} {{ invoice_currency }}

You can view and pay the invoice in the client area:
{{ invoice_link }}

{{ company_name }}
""",
    ),
    (
        "Invoice Payment Confirmation", "invoice", "Payment received for invoice {{ invoice_num }}",
        """Dear {{ client_first_name }},

Thank you: we received full payment for invoice {{ invoice_num }} on {{ invoice_date_paid }}.

Total: {{ invoice_total }} {{ invoice_currency }}
Paid from credit: {{ invoice_credit }}
Paid: {{ invoice_amount_paid }}

{{ invoice_link }}

{{ company_name }}
""",
    ),
    (
        "Invoice Overdue Notice", "invoice", "Overdue: invoice {{ invoice_num }}",
        """Dear {{ client_first_name }},

Invoice {{ invoice_num }}, due on {{ invoice_date_due }}, is still unpaid.

Balance due: {{ invoice_balance }} {{ invoice_currency }}

Please pay it to avoid an interruption of your services:
{{ invoice_link }}

Your account credit is {{ client_credit }} and your unpaid invoices total {{ client_due_invoices_balance }}.

{{ company_name }}
""",
    ),
    (
        "Service Suspension Notification", "service", "Service suspended: {{ service_domain }}",
        """Dear {{ client_first_name }},

Your {{ service_product_name }} service for {{ service_domain }} has been suspended.
Reason: {{ service_suspension_reason }}

Unpaid invoices: {{ client_due_invoices_balance }}. Paying them reactivates the service.
{{ portal_url }}

{{ company_name }}
""",
    ),
    (
        "Service Unsuspension Notification", "service", "Service reactivated: {{ service_domain }}",
        """Dear {{ client_first_name }},

Your {{ service_product_name }} service for {{ service_domain }} is active again. Thank you for your payment.

Next due date: {{ service_next_due_date }}

{{ company_name }}
""",
    ),
    (
        "Service Termination Notification", "service", "Service terminated: {{ service_domain }}",
        """Dear {{ client_first_name }},

Your {{ service_product_name }} service for {{ service_domain }} has been terminated.

If this is unexpected, please contact us as soon as possible.

{{ company_name }}
""",
    ),
    (
        "Low Balance Alert", "general", "Low balance on account #{{ client_id }}",
        """Dear {{ client_first_name }},
This is a friendly reminder that your account is low in funding. Please log into the {{ company_name }} Client Area and add funds to your account.
Login & top up here: {{ add_funds_url }}
All {{ company_name }} Service accounts must carry a positive balance in order to maintain service.
Your current balance for your service(s)
Account# {{ client_id }} is: {{ client_credit }}
Your current low balance notification is set at ${{ client_custom_field_lowbalancethreshold }}.00
If you do not wish to receive email notifications from our system anymore, please contact us.
""",
    ),
    (
        "VoIP Zero Balance", "general", "VoIP service not active: no credit balance",
        """Dear {{ client_name }},
This is a friendly reminder that your {{ company_name }} service must carry a positive balance.
The details of this are below:
{{ company_name }} not Active: No VoIP Credit Balance
Credit Balance: ${{ client_credit }}
Outstanding Balance: {{ client_due_invoices_balance }}
Low Balance Threshold: ${{ client_custom_field_lowbalancethreshold }}.00
All VoIP/SIP accounts must carry a positive balance in order for service connection.
To top up your account please go here to make your deposit and apply it to any outstanding amounts,
{{ add_funds_url }}
Please allow up to 1min for your deposit to synchronize with the system before your account is able to place calls.
If you cannot make a deposit please contact us as soon as possible to get your service reactivated.
""",
    ),
]


def seed(apps, schema_editor):
    EmailTemplate = apps.get_model("billing", "EmailTemplate")
    existing = set(EmailTemplate.objects.values_list("name", flat=True))
    EmailTemplate.objects.bulk_create(
        [
            EmailTemplate(name=name, category=category, subject=subject, body=body)
            for name, category, subject, body in TEMPLATES
            if name not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_tax_rates_email_log")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
