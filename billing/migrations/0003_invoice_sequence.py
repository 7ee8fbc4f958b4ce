from django.db import migrations


def create_invoice_sequence(apps, schema_editor):
    apps.get_model("billing", "NumberSequence").objects.get_or_create(name="invoice")


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_initial")]

    operations = [migrations.RunPython(create_invoice_sequence, migrations.RunPython.noop)]
