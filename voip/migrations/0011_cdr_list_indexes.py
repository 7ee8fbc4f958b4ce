# The call records page's covering index (replacing (service, answer_time), which it extends) and the staff
# list's answer_time index (docs/benchmarks.md, *Load test*). The new index is added before the old one goes:
# MariaDB refuses to drop the only index that serves the service foreign key.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('voip', '0010_cdr_call_legs'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='cdr',
            index=models.Index(fields=['service', 'answer_time', 'id', 'direction', 'internal_leg', 'status', 'billed_seconds', 'cost'], name='cdr_service_calls'),
        ),
        migrations.RemoveIndex(
            model_name='cdr',
            name='voip_cdr_service_6325c0_idx',
        ),
        migrations.AddIndex(
            model_name='cdr',
            index=models.Index(fields=['answer_time'], name='cdr_answer_time'),
        ),
    ]
