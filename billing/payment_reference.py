"""The structured payment reference of an invoice (ISO 11649 "RF" creditor reference) and the seller's bank
details (per currency, from the seller profile; the BANK_* settings as the fallback), for paying by bank transfer.

The reference is `RF` + two check digits + the invoice's id: deterministic, printable on the invoice and the PDF,
checked by the bank's own forms (the check digits catch a mistyped digit), and read back out of a statement
line's free text by `references_in`. It lives in billing (not payments) because the invoice page shows it.
"""
import re
from dataclasses import dataclass

from django.conf import settings
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from billing.models import SellerBankAccount

# "RF" and two check digits, then the rest of the text; the body (up to 21 letters or digits) may be written in
# groups separated by spaces, as banks print it ("RF18 5390 0754 7034").
_RF_START = re.compile(r"(?<![A-Z0-9])RF\s?(\d\d)", re.IGNORECASE)
_GROUP = re.compile(r"[ \t]?([A-Z0-9]+)", re.IGNORECASE)
MAX_BODY = 21


def rf_reference(body):
    """The ISO 11649 reference for a body of letters and digits (compact form, e.g. `RF18539007547034`)."""
    body = str(body).upper().replace(" ", "")
    if not body or len(body) > MAX_BODY or not body.isalnum():
        raise ValueError(f"An RF reference body is 1 to {MAX_BODY} letters or digits, not {body!r}.")
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def invoice_reference(invoice):
    """The invoice's payment reference, compact (`RF<check><invoice id>`)."""
    return rf_reference(invoice.pk)


def invoice_reference_display(invoice):
    """The reference in groups of four, as printed for people: `RF71 1234`."""
    return iso11649.format(invoice_reference(invoice))


def is_valid_reference(text):
    return iso11649.is_valid(text or "")


def invoice_id_of(reference):
    """The invoice id an RF reference of ours names, or None (another issuer's or malformed reference)."""
    reference = iso11649.compact(reference or "")
    if not iso11649.is_valid(reference):
        return None
    body = reference[4:]
    return int(body) if body.isdigit() and len(body) <= 18 else None


def references_in(text):
    """The valid RF references written in a piece of free text, in order, compact. Spaces, lowercase and words
    around it are fine: "Payment rf18 5390 0754 7034 inv 12" gives ["RF18539007547034"]. The body may end where a
    group of characters ends or where digits turn into letters (or back); the longest valid reading wins."""
    found = []
    for readings in _readings(text):
        if readings[0] not in found:
            found.append(readings[0])
    return found


def invoice_ids_in(text):
    """The invoice ids named by RF references of ours in free text, in order. Every valid reading of each "RF" is
    tried, longest first, and the first of ours (digits only) counts: the check digits let about one reading in
    97 pass by chance, so "RF71 197 inv" reading as the valid "RF71197INV" (not ours) still finds invoice 197."""
    ids = []
    for readings in _readings(text):
        for reading in readings:
            invoice_id = invoice_id_of(reading)
            if invoice_id is not None:
                if invoice_id not in ids:
                    ids.append(invoice_id)
                break
    return ids


def _readings(text):
    """For each "RF" and check digits in the text, its valid readings (compact), longest first."""
    text = text or ""
    for start in _RF_START.finditer(text):
        check, pos, body, cuts = start.group(1), start.end(), "", []
        while len(body) < MAX_BODY:
            group = _GROUP.match(text, pos)
            if group is None:
                break
            chars = group.group(1)[: MAX_BODY - len(body)]
            for n in range(1, len(chars)):
                if chars[n - 1].isdigit() != chars[n].isdigit():
                    cuts.append(len(body) + n)
            body += chars
            cuts.append(len(body))
            pos = group.end()
        readings = [f"RF{check}{body[:cut]}".upper() for cut in sorted(set(cuts), reverse=True)]
        readings = [r for r in readings if iso11649.is_valid(r)]
        if readings:
            yield readings


@dataclass(frozen=True)
class BankDetails:
    account_name: str
    iban: str
    bic: str
    bank_name: str
    account_number: str = ""
    routing_code: str = ""

    @property
    def iban_display(self):
        return " ".join(self.iban[i:i + 4] for i in range(0, len(self.iban), 4))

    def lines(self):
        """(label, value) pairs as every invoice document prints them."""
        rows = [("Account holder", self.account_name)]
        rows += [("IBAN", self.iban_display)] if self.iban else []
        rows += [("Account number", self.account_number)] if self.account_number else []
        rows += [("Sort code / routing", self.routing_code)] if self.routing_code else []
        rows += [("BIC / SWIFT", self.bic)] if self.bic else []
        rows += [("Bank", self.bank_name)] if self.bank_name else []
        return rows


def bank_details(currency=None, *, accounts=None):
    """The seller's account for `currency`: the seller profile's account in that currency, else the one of the
    settings (BANK_*, any currency), else None. `accounts` ({currency: SellerBankAccount}) spares the query."""
    if accounts is None:
        accounts = {a.currency: a for a in SellerBankAccount.objects.filter(currency=currency)} if currency else {}
    account = accounts.get(currency)
    if account is not None:
        return BankDetails(account_name=account.account_holder, iban=account.iban, bic=account.bic,
                           bank_name=account.bank_name, account_number=account.account_number,
                           routing_code=account.routing_code)
    iban = (getattr(settings, "BANK_IBAN", "") or "").replace(" ", "").upper()
    if not iban:
        return None
    return BankDetails(
        account_name=getattr(settings, "BANK_ACCOUNT_NAME", "") or settings.PORTAL_NAME,
        iban=iban, bic=(getattr(settings, "BANK_BIC", "") or "").replace(" ", "").upper(),
        bank_name=getattr(settings, "BANK_NAME", "") or "",
    )


def is_payable_by_transfer(invoice):
    return invoice.pk is not None and invoice.status == invoice.Status.UNPAID and invoice.balance > 0


def bank_transfer_instructions(invoice, *, bank=None):
    """What the invoice page and PDF show an unpaid invoice's payer, or None (paid, or no bank configured)."""
    details = bank or bank_details(invoice.currency)
    if details is None or not is_payable_by_transfer(invoice):
        return None
    return {"bank": details, "reference": invoice_reference_display(invoice), "amount": invoice.balance,
            "currency": invoice.currency}
