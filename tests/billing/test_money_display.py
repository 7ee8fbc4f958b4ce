"""One rule for showing money (docs/billing.md, *Showing money*): a credit balance is shown as what may be
spent — rounded down to the currency's decimals — on every page, PDF, e-mail and API field; staff also see the
exact four-place figure. Amounts are shown with their currency's decimals."""
import base64
import re
import zlib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.emails import deliver, queue_email
from billing.models import Invoice
from billing.services.ledger import credit_adjust
from billing.services.payments import invoice_pay_from_credit
from portal.activity import Actor
from portal.models import Client
from portal.money import currency_decimals, format_money, spendable
from tests.api.conftest import Rest, Whmcs, make_key
from tests.factories import ClientFactory, InvoiceFactory, InvoiceItemFactory

# (stored four-place balance, the spendable figure every place shows, the exact figure staff see)
BALANCES = [
    ("24.5161", "24.51", "24.5161"),  # half up would say 24.52: more than may be spent
    ("0.0061", "0.00", "0.0061"),  # half up would say 0.01, which no invoice can take
    ("-0.9373", "-0.94", "-0.9373"),  # a debt is never shown smaller than it is
]


def pdf_text(content):
    """The text drawn on a reportlab PDF's pages: its content streams, ASCII85-decoded and inflated."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\s*endstream", content, re.S):
        if stream.rstrip().endswith(b"~>"):
            stream = base64.a85decode(stream.rstrip()[:-2])
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass  # not compressed (fonts, images)
        text.append(stream.decode("latin-1"))
    return "".join(text)


def found(pattern, text):
    """The first group of `pattern` in `text`, or "(missing)" so the final comparison names every place at once."""
    match = re.search(pattern, text)
    return match.group(1) if match else "(missing)"


def staff_cell(html, client_pk):
    """The text of the credit cell in the staff client list's row for one client."""
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*?/admin/portal/client/{client_pk}/change/.*?</tr>', html, re.S).group(0)
    cell = re.search(r'<td class="field-credit[^"]*">(.*?)</td>', row, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


@pytest.mark.django_db
@pytest.mark.parametrize("stored, shown, exact", BALANCES)
def test_a_four_place_credit_balance_is_the_same_spendable_figure_everywhere(
    client, staff_user, mailoutbox, stored, shown, exact
):
    customer = ClientFactory(currency="USD", low_balance_threshold=Decimal("50.00"))
    Client.objects.filter(pk=customer.pk).update(credit_balance=Decimal(stored))
    invoice = InvoiceFactory(client=customer, total=Decimal("10.00"), subtotal=Decimal("10.00"))
    InvoiceItemFactory(invoice=invoice, amount=Decimal("10.00"))
    seen = {}

    client.force_login(customer.owner_user)
    invoice_page = client.get(reverse("clientarea:invoice", args=[invoice.pk])).content.decode()
    seen["sidebar"] = found(r"Credit: (\S+) USD", invoice_page)
    seen["invoice page"] = found(r"Your credit balance: (\S+) USD", invoice_page)
    add_funds = client.get(reverse("clientarea:add_funds")).content.decode()
    seen["add funds page"] = found(r'data-testid="credit-balance">(\S+) USD<', add_funds)
    dashboard = client.get(reverse("clientarea:dashboard")).content.decode()
    seen["dashboard"] = found(r'Credit balance</div><div class="fs-3 fw-semibold">(\S+) USD<', dashboard)
    pdf = pdf_text(client.get(reverse("clientarea:invoice_pdf", args=[invoice.pk])).content)
    seen["invoice PDF"] = found(r"Your credit balance: (\S+) USD", pdf)

    client.force_login(staff_user)
    staff_list = staff_cell(client.get(reverse("admin:portal_client_changelist")).content.decode(), customer.pk)
    seen["staff list"] = staff_list.split(" USD")[0]
    staff_page = client.get(reverse("admin:portal_client_change", args=[customer.pk])).content.decode()
    seen["staff client page"] = found(r'<div class="readonly">(\S+) USD', staff_page)
    apply_credit = client.get(reverse("admin:billing_invoice_apply_credit", args=[invoice.pk])).content.decode()
    seen["staff apply credit"] = found(r"credit \((\S+) USD available\)", apply_credit)

    queue_email(template_name="Low Balance Alert", client=customer, event_key=f"test:{stored}")
    deliver()
    seen["e-mail"] = found(r"is: (\S+)\n", mailoutbox[0].body)

    key = make_key(name="display")
    rest, whmcs = Rest(client, key), Whmcs(client, key)
    seen["REST client"] = rest.get(f"clients/{customer.pk}/").json()["credit_balance"]
    seen["REST credit"] = rest.get(f"clients/{customer.pk}/credit/").json()["balance"]
    seen["WHMCS GetClientsDetails"] = whmcs("GetClientsDetails", clientid=customer.pk)["client"]["credit"]

    assert seen == dict.fromkeys(seen, shown)
    # Staff also see the exact figure the ledger sums to, labelled as such; so does the API.
    assert f"exact {exact}" in staff_list
    assert found(r'<div class="readonly">\S+ USD <span class="quiet">\(exact (\S+)\)</span>', staff_page) == exact
    assert rest.get(f"clients/{customer.pk}/").json()["credit_balance_exact"] == exact
    assert rest.get(f"clients/{customer.pk}/credit/").json()["balance_exact"] == exact


@pytest.mark.django_db
def test_paying_from_credit_never_spends_more_than_the_figure_shown(client):
    """0.0061 USD is shown as 0.00 and pays nothing; 100.50 JPY is shown as 100 and pays 100 yen."""
    dust = ClientFactory(currency="USD")
    Client.objects.filter(pk=dust.pk).update(credit_balance=Decimal("0.0061"))
    dust_invoice = InvoiceFactory(client=dust, currency="USD", total=Decimal("10.00"), subtotal=Decimal("10.00"))
    with pytest.raises(ValidationError):
        invoice_pay_from_credit(invoice=dust_invoice, actor=Actor.system("test"))
    dust_invoice.refresh_from_db()
    assert dust_invoice.credit_applied == Decimal("0.00")

    yen = ClientFactory(currency="JPY")
    Client.objects.filter(pk=yen.pk).update(credit_balance=Decimal("100.5000"))
    yen_invoice = InvoiceFactory(client=yen, currency="JPY", total=Decimal("1000.00"), subtotal=Decimal("1000.00"))
    client.force_login(yen.owner_user)
    page = client.get(reverse("clientarea:invoice", args=[yen_invoice.pk])).content.decode()
    assert "Pay 100 JPY from credit" in page and "Your credit balance: 100 JPY." in page
    invoice_pay_from_credit(invoice=yen_invoice, actor=Actor.system("test"))
    yen_invoice.refresh_from_db()
    yen.refresh_from_db()
    assert (yen_invoice.credit_applied, yen.credit_balance) == (Decimal("100.00"), Decimal("0.5000"))
    assert yen_invoice.status == Invoice.Status.UNPAID


@pytest.mark.django_db
def test_a_staff_adjustment_refused_below_zero_names_the_exact_balance():
    """Removing 24.52 from 24.5161 is refused; the message must not say the balance is 24.52."""
    customer = ClientFactory(currency="USD")
    Client.objects.filter(pk=customer.pk).update(credit_balance=Decimal("24.5161"))
    with pytest.raises(ValidationError) as refused:
        credit_adjust(client=customer, amount=Decimal("-24.52"), reason="test", actor=Actor.system("test"))
    message = "That would take the balance below zero (it is exactly 24.5161 USD)."
    assert refused.value.message_dict == {"amount": [message]}
    customer.refresh_from_db()
    assert customer.credit_balance == Decimal("24.5161")


@pytest.mark.parametrize("currency, places", [("JPY", 0), ("KRW", 0), ("USD", 2), ("EUR", 2), ("CAD", 2),
                                              ("KWD", 3), ("BHD", 3), ("TND", 3)])
def test_each_currency_has_its_iso_4217_decimals(currency, places):
    assert currency_decimals(currency) == places


@pytest.mark.parametrize("amount, currency, expected", [
    ("1234.5", "JPY", "1235"), ("1234.4999", "JPY", "1234"), ("-1234.5", "JPY", "-1235"), ("0.4", "JPY", "0"),
    ("24.5161", "USD", "24.52"), ("24.515", "EUR", "24.52"), ("-0.9373", "USD", "-0.94"), ("-0.001", "USD", "0.00"),
    ("7", "USD", "7.00"), ("1.2345", "KWD", "1.235"), ("-1.2344", "BHD", "-1.234"), ("10", "KWD", "10.000"),
])
def test_an_amount_is_shown_with_its_currency_decimals_half_up(amount, currency, expected):
    assert format_money(Decimal(amount), currency) == expected


@pytest.mark.parametrize("balance, currency, shown, usable", [
    ("24.5161", "USD", "24.51", "24.51"), ("0.0061", "USD", "0.00", "0.00"), ("-0.9373", "USD", "-0.94", "0.00"),
    ("-0.0001", "USD", "-0.01", "0.00"), ("0", "USD", "0.00", "0.00"),
    ("100.9999", "JPY", "100", "100"), ("-0.5", "JPY", "-1", "0"),
    ("1.2349", "KWD", "1.234", "1.234"), ("-1.2341", "KWD", "-1.235", "0.000"),
])
def test_a_credit_balance_is_shown_and_spent_rounded_down_to_the_currency_decimals(balance, currency, shown, usable):
    assert format_money(Decimal(balance), currency, spendable=True) == shown
    assert str(spendable(Decimal(balance), currency)) == usable


def test_the_exact_figure_keeps_the_four_places_the_ledger_holds():
    assert format_money(Decimal("24.5161"), "USD", exact=True) == "24.5161"
    assert format_money(Decimal("-0.9373"), "JPY", exact=True) == "-0.9373"
    assert format_money(Decimal("3"), "USD", exact=True) == "3.0000"
