# Usage history for the charts, per-server usage status, and staff permissions per provisioning action.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_initial'),
        ('provisioning', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='modulecall',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('terminate_service', 'Can terminate services (provider data may be deleted)'), ('control_panel_login', "Can log in to a service's control panel (single sign-on)"), ('retry_modulecall', 'Can retry or dismiss failed provider calls'), ('test_server_connection', 'Can test the connection to a server')]},
        ),
        migrations.AddField(
            model_name='server',
            name='usage_error',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name='server',
            name='usage_updated_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name='UsageSample',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField(help_text='Business day of the reading.')),
                ('disk_mb', models.DecimalField(decimal_places=2, max_digits=14)),
                ('disk_limit_mb', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('taken_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='usage_samples', to='billing.service')),
            ],
            options={
                'ordering': ['service', 'date'],
                'constraints': [models.UniqueConstraint(fields=('service', 'date'), name='one_usage_sample_per_service_day')],
            },
        ),
    ]
