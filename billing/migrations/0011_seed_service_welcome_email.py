"""The "Service Welcome Email" sent when an ordered service is created on its provider (WHMCS's product welcome
e-mail): how to sign in and which DNS records to publish (merge fields from provisioning.welcome). An existing
template of the same name is left alone."""
from django.db import migrations

NAME = "Service Welcome Email"
SUBJECT = "Your {{ service_product_name }} for {{ service_domain }} is ready"
BODY = """Dear {{ client_first_name }},

Thank you for your order. Your {{ service_product_name }} service for {{ service_domain }} is now active.

How to sign in
{{ service_login_urls }}

DNS records to publish for {{ service_domain }}
{{ service_dns_records }}

Your services and invoices are in the client area:
{{ portal_url }}

{{ company_name }}
"""


def seed(apps, schema_editor):
    EmailTemplate = apps.get_model("billing", "EmailTemplate")
    if not EmailTemplate.objects.filter(name=NAME).exists():
        EmailTemplate.objects.create(name=NAME, category="service", subject=SUBJECT, body=BODY)


def unseed(apps, schema_editor):
    apps.get_model("billing", "EmailTemplate").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_orders_promotions_default_cycle")]
    operations = [migrations.RunPython(seed, unseed)]
