"""Tax rules on two levels by country and region replace the one rate per country (each TaxRate becomes a level 1
rule of its country); every invoice keeps its tax breakdown as rows (existing taxed invoices get one level 1 line:
the rate they were issued with, on their taxable lines); credit notes with their own gap-free sequence; and the
'Credit Note Issued' e-mail."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models
from django.db.models import Sum

CREDIT_NOTE_EMAIL = "Credit Note Issued"
CREDIT_NOTE_SUBJECT = "Credit note {{ credit_note_number }} for invoice {{ invoice_num }}"
CREDIT_NOTE_BODY = """Dear {{ client_first_name }},

We have issued credit note {{ credit_note_number }} of {{ credit_note_date }} for invoice {{ invoice_num }}
({{ credit_note_kind }}: {{ credit_note_reason }}).

Net: {{ credit_note_subtotal }} {{ invoice_currency }}
Tax: {{ credit_note_tax }} {{ invoice_currency }}
Total: {{ credit_note_total }} {{ invoice_currency }}

You can see it and download it as a PDF in the client area:
{{ credit_note_link }}

{{ company_name }}
"""


def rates_to_rules(apps, schema_editor):
    TaxRate, TaxRule = apps.get_model("billing", "TaxRate"), apps.get_model("billing", "TaxRule")
    TaxRule.objects.bulk_create([TaxRule(country=r.country, region="", level=1, name=r.name, rate=r.rate)
                                 for r in TaxRate.objects.all()])


def rules_to_rates(apps, schema_editor):
    TaxRate, TaxRule = apps.get_model("billing", "TaxRate"), apps.get_model("billing", "TaxRule")
    TaxRate.objects.bulk_create([TaxRate(country=r.country, name=r.name, rate=r.rate)
                                 for r in TaxRule.objects.filter(level=1, region="")])


def breakdown_of_taxed_invoices(apps, schema_editor):
    """One level 1 line per invoice issued with a rate, in batches: names from the country's rate (or 'Tax')."""
    Invoice, InvoiceItem = apps.get_model("billing", "Invoice"), apps.get_model("billing", "InvoiceItem")
    InvoiceTaxLine, TaxRate = apps.get_model("billing", "InvoiceTaxLine"), apps.get_model("billing", "TaxRate")
    names = dict(TaxRate.objects.values_list("country", "name"))
    taxed = Invoice.objects.filter(tax_rate__gt=0).order_by("pk").values_list("pk", "tax_rate", "tax", "client__country")
    batch = []
    for row in taxed.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) == 2000:
            _write_lines(batch, names, InvoiceItem, InvoiceTaxLine)
            batch = []
    _write_lines(batch, names, InvoiceItem, InvoiceTaxLine)


def _write_lines(batch, names, InvoiceItem, InvoiceTaxLine):
    if not batch:
        return
    bases = dict(InvoiceItem.objects.filter(invoice_id__in=[pk for pk, *_ in batch], taxable=True)
                 .values("invoice_id").annotate(base=Sum("amount")).order_by().values_list("invoice_id", "base"))
    InvoiceTaxLine.objects.bulk_create([
        InvoiceTaxLine(invoice_id=pk, level=1, name=names.get(country, "Tax"), rate=rate, country=country,
                       base=bases.get(pk) or Decimal("0.00"), tax=tax)
        for pk, rate, tax, country in batch
    ])


def credit_note_sequence_and_email(apps, schema_editor):
    apps.get_model("billing", "NumberSequence").objects.get_or_create(name="credit_note")
    EmailTemplate = apps.get_model("billing", "EmailTemplate")
    if not EmailTemplate.objects.filter(name=CREDIT_NOTE_EMAIL).exists():
        EmailTemplate.objects.create(name=CREDIT_NOTE_EMAIL, category="invoice", subject=CREDIT_NOTE_SUBJECT,
                                     body=CREDIT_NOTE_BODY)


def remove_credit_note_email(apps, schema_editor):
    apps.get_model("billing", "EmailTemplate").objects.filter(name=CREDIT_NOTE_EMAIL).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0014_invoice_emails_seller_and_payment_details'),
        ('portal', '0009_client_vat_number'),
    ]

    operations = [
        migrations.CreateModel(
            name='CreditNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(help_text='From its own locked sequence (CREDIT_NOTE_NUMBER_FORMAT).', max_length=40, unique=True)),
                ('kind', models.CharField(choices=[('refund', 'Refund'), ('cancellation', 'Cancellation of a paid invoice')], max_length=12)),
                ('currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code such as USD.')])),
                ('date', models.DateField(default=django.utils.timezone.localdate)),
                ('reason', models.CharField(blank=True, max_length=255)),
                ('subtotal', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='Net, negative.', max_digits=12)),
                ('tax', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='Negative.', max_digits=12)),
                ('total', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='Gross, negative: subtotal + tax.', max_digits=12)),
                ('prices_include_tax', models.BooleanField(default=False)),
                ('tax_note', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('client', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_notes', to='portal.client')),
            ],
            options={
                'ordering': ['-date', '-id'],
            },
        ),
        migrations.CreateModel(
            name='CreditNoteItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('description', models.CharField(max_length=500)),
                ('amount', models.DecimalField(decimal_places=2, help_text="Negative; as the invoice's lines, net or tax-inclusive.", max_digits=12)),
                ('taxable', models.BooleanField(default=True)),
                ('sort_order', models.PositiveIntegerField(default=0)),
            ],
            options={
                'ordering': ['credit_note', 'sort_order', 'id'],
            },
        ),
        migrations.CreateModel(
            name='CreditNoteTaxLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField(default=1)),
                ('name', models.CharField(max_length=60)),
                ('rate', models.DecimalField(decimal_places=3, max_digits=6)),
                ('compound', models.BooleanField(default=False)),
                ('country', models.CharField(blank=True, max_length=2)),
                ('region', models.CharField(blank=True, max_length=100)),
                ('base', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='The net amount the rate was charged on.', max_digits=12)),
                ('tax', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12)),
            ],
            options={
                'ordering': ['level', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='InvoiceTaxLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField(default=1)),
                ('name', models.CharField(max_length=60)),
                ('rate', models.DecimalField(decimal_places=3, max_digits=6)),
                ('compound', models.BooleanField(default=False)),
                ('country', models.CharField(blank=True, max_length=2)),
                ('region', models.CharField(blank=True, max_length=100)),
                ('base', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='The net amount the rate was charged on.', max_digits=12)),
                ('tax', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=12)),
            ],
            options={
                'ordering': ['level', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='TaxRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('country', models.CharField(help_text='Two-letter ISO code, e.g. DE.', max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'Use a two-letter ISO 3166 country code such as CA.')])),
                ('region', models.CharField(blank=True, help_text='As clients enter it in their address (compared without regard to case). Blank: the whole country.', max_length=100, verbose_name='state or region')),
                ('level', models.PositiveSmallIntegerField(choices=[(1, 'Level 1'), (2, 'Level 2')], default=1)),
                ('name', models.CharField(help_text="Shown on invoices, e.g. 'VAT', 'GST' or 'PST'.", max_length=60)),
                ('rate', models.DecimalField(decimal_places=3, help_text='Percent, e.g. 21.000.', max_digits=6, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                ('compound', models.BooleanField(default=False, help_text="Level 2 only: charged on the price plus the level 1 tax (as Quebec's QST was).")),
            ],
            options={
                'ordering': ['country', 'region', 'level'],
                'permissions': [('view_tax_report', 'Can see the tax report (net, tax and gross per country and rate)')],
            },
        ),
        migrations.AddField(
            model_name='invoice',
            name='prices_include_tax',
            field=models.BooleanField(default=False, help_text='Its line amounts include tax (the TAX_PRICES_INCLUDE_TAX setting when issued).'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_evidence',
            field=models.JSONField(blank=True, default=dict, help_text='What the tax was decided on: address country, VAT number, VIES result and time.'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_note',
            field=models.TextField(blank=True, help_text='Printed on the invoice, e.g. the reverse-charge legal note.'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_rate2',
            field=models.DecimalField(decimal_places=3, default=Decimal('0.000'), help_text='The level 2 rate.', max_digits=6),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_rounding',
            field=models.CharField(choices=[('invoice', 'Once on the invoice total, per rate'), ('line', 'On each line, then added up')], default='invoice', max_length=7),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_treatment',
            field=models.CharField(choices=[('standard', "Taxed at the rules of the client's address"), ('exempt', 'Tax-exempt client'), ('reverse_charge', 'EU reverse charge (B2B, valid VAT number)'), ('vies_unavailable', 'Taxed as B2C: VIES could not confirm the VAT number')], default='standard', max_length=20),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='tax',
            field=models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text="All levels' tax: subtotal (net) + tax = total (gross).", max_digits=12),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='tax_rate',
            field=models.DecimalField(decimal_places=3, default=Decimal('0.000'), help_text='The level 1 rate (the breakdown: tax lines).', max_digits=6),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='invoice',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_notes', to='billing.invoice'),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='payment',
            field=models.OneToOneField(blank=True, help_text='The refund it documents (none for a cancellation).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_note', to='billing.payment'),
        ),
        migrations.AddField(
            model_name='creditnoteitem',
            name='credit_note',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='billing.creditnote'),
        ),
        migrations.AddField(
            model_name='creditnoteitem',
            name='invoice_item',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='billing.invoiceitem'),
        ),
        migrations.AddField(
            model_name='creditnotetaxline',
            name='credit_note',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tax_lines', to='billing.creditnote'),
        ),
        migrations.AddField(
            model_name='invoicetaxline',
            name='invoice',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tax_lines', to='billing.invoice'),
        ),
        migrations.AddConstraint(
            model_name='taxrule',
            constraint=models.UniqueConstraint(fields=('country', 'region', 'level'), name='tax_rule_one_per_region_and_level', violation_error_message='A tax rule for this country, region and level exists.'),
        ),
        migrations.AddConstraint(
            model_name='taxrule',
            constraint=models.CheckConstraint(condition=models.Q(('compound', False), ('level', 2), _connector='OR'), name='tax_rule_compound_only_level_2', violation_error_message='Only a level 2 rule can compound.'),
        ),
        migrations.AddIndex(
            model_name='creditnote',
            index=models.Index(fields=['date'], name='billing_cre_date_0400f0_idx'),
        ),
        migrations.AddConstraint(
            model_name='creditnotetaxline',
            constraint=models.UniqueConstraint(fields=('credit_note', 'level'), name='credit_note_tax_line_one_per_level'),
        ),
        migrations.AddConstraint(
            model_name='invoicetaxline',
            constraint=models.UniqueConstraint(fields=('invoice', 'level'), name='invoice_tax_line_one_per_level'),
        ),
            migrations.RunPython(rates_to_rules, rules_to_rates),
        migrations.RunPython(breakdown_of_taxed_invoices, migrations.RunPython.noop),
        migrations.RunPython(credit_note_sequence_and_email, remove_credit_note_email),
        migrations.DeleteModel(
            name='TaxRate',
        ),
    ]
