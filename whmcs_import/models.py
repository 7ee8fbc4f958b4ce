"""What the WHMCS importer remembers between runs: which portal row each WHMCS row became (so a second run
updates instead of duplicating), and the logins whose old password could not be kept."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportedRecord(models.Model):
    """One WHMCS row and the portal row it became. `source` is the WHMCS table (with a suffix where one WHMCS
    row becomes several portal rows, e.g. a configurable option per product it is linked to)."""

    source = models.CharField(max_length=48, help_text="The WHMCS table the row came from, e.g. tblclients.")
    whmcs_id = models.CharField("WHMCS id", max_length=40, help_text="The row's id in WHMCS (or a composite key).")
    local_id = models.BigIntegerField(help_text="The primary key of the portal row it became.")
    fingerprint = models.CharField(
        max_length=64, blank=True,
        help_text="A digest of a WHMCS value the portal may change afterwards (a login's password hash): a "
                  "re-run overwrites the portal's value only when WHMCS's changed.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "whmcs_id"], name="one_mapping_per_whmcs_row")]
        verbose_name = "imported WHMCS record"

    def __str__(self):
        return f"{self.source} #{self.whmcs_id} → {self.local_id}"


class PendingPasswordReset(models.Model):
    """A login imported from WHMCS whose password hash cannot be kept (MD5-era or none): it can only sign in
    after a password reset. The import sends nothing; `manage.py send_whmcs_password_resets` sends the e-mails."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=120)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at", "id"]

    def __str__(self):
        return f"{self.user} ({'sent' if self.sent_at else 'waiting'})"
