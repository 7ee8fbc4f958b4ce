# The retry queue: a proxy of ModuleCall with its own admin page.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0002_usage_samples_and_permissions'),
    ]

    operations = [
        migrations.CreateModel(
            name='RetryQueueEntry',
            fields=[
            ],
            options={
                'verbose_name': 'retry queue entry',
                'verbose_name_plural': 'retry queue',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('provisioning.modulecall',),
        ),
    ]
