"""The demo's billing setup (composed by config.demo).

The seller: a small UK hosting company with a logo and a bank account per currency, so the demo's invoices (page,
PDF, e-mails) show every block a legal invoice has (`load_seller_profile`).

The tax rules (`load_tax_rules`): Canada's GST everywhere, Ontario's HST instead of it, Quebec's QST as a second
level beside the GST, and the EU's standard VAT rates (for OSS sales to EU consumers). The demo's Canadian clients
live in Ontario and Quebec, so their invoices show a one- and a two-level breakdown."""
from decimal import Decimal
from io import BytesIO

from django.db import transaction
from PIL import Image, ImageDraw

from billing.models import SellerBankAccount, SellerProfile, TaxRule
from portal.activity import Actor, log_activity

ACTOR = Actor.system("load_demo")
# The USD account is the one run.py puts in BANK_* (payments.demo's bank statement is of it); the others are the
# standards' own example IBANs, valid and belonging to nobody.
ACCOUNTS = [
    ("USD", "Demo Hosting Ltd", "GB82WEST12345698765432", "WESTGB2L", "Westminster Demo Bank"),
    ("EUR", "Demo Hosting Ltd", "DE89370400440532013000", "COBADEFFXXX", "Commerzbank"),
    ("GBP", "Demo Hosting Ltd", "GB29NWBK60161331926819", "NWBKGB2L", "National Westminster Bank"),
]
FOOTER = ("Payment is due within 14 days of the invoice date. Late payments may bear interest under the Late "
          "Payment of Commercial Debts (Interest) Act 1998. Thank you for hosting with us.")


def demo_logo():
    """A small PNG logo drawn here (no image file in the repository)."""
    image = Image.new("RGB", (360, 96), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 8, 84, 88), radius=14, fill="#0d6efd")
    draw.text((22, 26), "DH", fill="#ffffff", font_size=40)
    draw.text((100, 22), "Demo Hosting", fill="#1f2937", font_size=36)
    draw.text((102, 64), "mail · voice · cloud", fill="#6b7280", font_size=18)
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@transaction.atomic
def load_seller_profile():
    """Fill the seller profile, once: a profile staff already saved is left as it is. Returns True if filled."""
    if SellerProfile.objects.exists():
        return False
    profile = SellerProfile.objects.create(
        legal_name="Demo Hosting Ltd", address1="Unit 4, 12 Example Wharf", address2="Canal Street",
        city="London", postcode="E1 6AN", country="GB", tax_id="GB123456789",
        company_registration="Registered in England and Wales, company no. 01234567",
        email="billing@demo-hosting.example", phone="+44 20 7946 0000", website="https://demo-hosting.example",
        invoice_footer=FOOTER, logo=demo_logo(), logo_type="image/png",
    )
    SellerBankAccount.objects.bulk_create([
        SellerBankAccount(profile=profile, currency=currency, account_holder=holder, iban=iban, bic=bic,
                          bank_name=bank)
        for currency, holder, iban, bic, bank in ACCOUNTS
    ])
    log_activity(actor=ACTOR, action="seller_profile.create", target=profile,
                 message="Seller profile filled with the demo company (Demo Hosting Ltd)",
                 data={"bank_accounts": [currency for currency, *_ in ACCOUNTS]})
    return True


CANADA = [  # (region, level, name, rate): a region's rule replaces the country's at its level
    ("", 1, "GST", "5.000"),
    ("ON", 1, "HST", "13.000"),
    ("QC", 2, "QST", "9.975"),
]
EU_VAT = {"AT": "20", "BE": "21", "DE": "19", "DK": "25", "ES": "21", "FI": "25.5", "FR": "20", "IE": "23", "IT": "22",
          "NL": "21", "PL": "23", "PT": "23", "SE": "25"}


def load_tax_rules():
    """The rules, once (loading twice adds nothing)."""
    if TaxRule.objects.exists():
        return
    rules = [TaxRule(country="CA", region=region, level=level, name=name, rate=Decimal(rate))
             for region, level, name, rate in CANADA]
    rules += [TaxRule(country=country, name="VAT", rate=Decimal(rate)) for country, rate in EU_VAT.items()]
    TaxRule.objects.bulk_create(rules)
