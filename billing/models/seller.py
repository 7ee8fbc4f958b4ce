"""Who issues the invoices: the seller's legal details, shown on every invoice page, PDF and e-mail, and its bank
accounts, one per currency, for paying by bank transfer (docs/billing.md, "The seller profile")."""
from django.core.exceptions import ValidationError
from django.db import models
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from portal.models import SingletonSettings, country_code, currency_code

LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}  # what reportlab and every browser draw
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 2400  # on the longer side


class SellerProfile(SingletonSettings):
    """The one row of the seller's details. Until staff save it, invoices name PORTAL_NAME and nothing else."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    legal_name = models.CharField(max_length=200, blank=True,
                                  help_text="The registered name invoices are issued in, e.g. 'Example Hosting Ltd'.")
    address1 = models.CharField("address", max_length=200, blank=True)
    address2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state or region", max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, validators=[country_code],
                               help_text="Two-letter ISO code, e.g. GB.")
    tax_id = models.CharField("VAT / tax ID", max_length=40, blank=True,
                              help_text="Printed as the seller's tax identification, e.g. GB123456789.")
    company_registration = models.CharField(
        max_length=120, blank=True, help_text="Registration number and register, e.g. 'Company no. 01234567 (England)'."
    )
    email = models.EmailField("contact e-mail", blank=True)
    phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    invoice_footer = models.TextField(
        blank=True, help_text="Printed at the foot of every invoice: terms, late-payment interest, a thank-you."
    )
    # The logo is kept in the database (a few hundred KB at most) so the web and worker processes, which render
    # invoices and e-mails on different machines, need no shared media volume.
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "seller profile"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="seller_profile_single_row")]

    def __str__(self):
        return "Seller profile"


class SellerBankAccount(models.Model):
    """The account a client paying in one currency transfers to. An IBAN or a local account number is needed."""

    profile = models.ForeignKey(SellerProfile, on_delete=models.CASCADE, related_name="bank_accounts")
    currency = models.CharField(max_length=3, unique=True, validators=[currency_code],
                                help_text="Invoices in this currency show this account.")
    account_holder = models.CharField(max_length=200, help_text="The name the account is held in.")
    iban = models.CharField("IBAN", max_length=42, blank=True)
    account_number = models.CharField(max_length=40, blank=True, help_text="Where there is no IBAN (e.g. US, CA).")
    routing_code = models.CharField("sort code / routing number", max_length=40, blank=True)
    bic = models.CharField("BIC / SWIFT", max_length=11, blank=True)
    bank_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["currency"]

    def __str__(self):
        return f"{self.currency} account ({self.account_holder})"

    def clean(self):
        self.iban = self.iban.replace(" ", "").upper()
        self.bic = self.bic.replace(" ", "").upper()
        errors = {}
        if not self.iban and not self.account_number.strip():
            errors["iban"] = "Give the IBAN or, where the bank has none, the account number."
        if self.iban and not stdnum_iban.is_valid(self.iban):
            errors["iban"] = f"{self.iban} is not a valid IBAN (check its digits and length)."
        if self.bic and not stdnum_bic.is_valid(self.bic):
            errors["bic"] = f"{self.bic} is not a valid BIC (8 or 11 letters and digits)."
        if errors:
            raise ValidationError(errors)
