"""The portal's record of each mailbox of a mail service: what billing needs (its type) and the provider's last
figures for the list pages. The provider is the source of truth: provisioning.mail.services.reconcile_mailboxes
brings these rows in line with it (new mailboxes recorded, vanished ones dropped, figures refreshed)."""
from django.db import models
from django.utils import timezone


class MailboxRecord(models.Model):
    service = models.ForeignKey("billing.Service", on_delete=models.CASCADE, related_name="mailbox_records")
    address = models.CharField(max_length=254, help_text="Full address, lower-case.")
    mailbox_type = models.CharField(
        max_length=40, blank=True,
        help_text="The plan's mailbox type (e.g. basic, enhanced): billing counts mailboxes by it. Blank: the plan "
                  "has no types.",
    )
    name = models.CharField(max_length=200, blank=True)
    quota_mb = models.PositiveIntegerField(null=True, blank=True)
    used_mb = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    enabled = models.BooleanField(default=True)
    is_admin = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, help_text="When the provider last listed it.")

    class Meta:
        ordering = ["service", "address"]
        constraints = [models.UniqueConstraint(fields=["service", "address"], name="one_record_per_mailbox")]
        verbose_name = "mailbox"

    def __str__(self):
        return self.address

    @property
    def local_part(self):
        return self.address.partition("@")[0]
