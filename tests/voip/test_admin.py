"""The VoIP staff pages: every changelist in a number of queries that does not grow with its rows, the deck import
with line-numbered errors, the CDR upload followed to its report, re-rating, and write-only credentials."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ClientFactory
from tests.voip.factories import CDR_FIXTURES, VoipProductFactory, VoipServiceFactory, stored_calls
from voip.models import Cdr, CdrImport, CdrSource, Rate, RatePackage, VoipProduct

pytestmark = pytest.mark.django_db

MODELS = ["ratepackage", "rate", "voipproduct", "cdrsource", "cdrimport", "cdr"]


def add_rows(package, source, n):
    start = CdrSource.objects.count()
    for index in range(start, start + n):
        client = ClientFactory()
        product = VoipProductFactory(rate_package=package)
        service = VoipServiceFactory(client=client, product=product)
        stored_calls(service, source, [{"answer_time": "2026-01-0%dT10:00:00Z" % (index % 9 + 1), "cost": "0.1"}])
        CdrSource.objects.create(name=f"Source {index}", kind=CdrSource.Kind.FILE)
        RatePackage.objects.create(name=f"Package {index}")


@pytest.mark.parametrize("model", MODELS)
def test_changelists_take_the_same_queries_with_more_rows(client, staff_user, package, source, model):
    url = reverse(f"admin:voip_{model}_changelist")
    client.force_login(staff_user)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context)

    add_rows(package, source, 1)
    few = queries()
    add_rows(package, source, 8)
    assert queries() == few


@pytest.mark.parametrize("model", MODELS)
def test_change_pages_open(client, staff_user, package, source, model):
    add_rows(package, source, 1)
    client.force_login(staff_user)
    obj = {"ratepackage": RatePackage, "rate": Rate, "voipproduct": VoipProduct, "cdrsource": CdrSource,
           "cdrimport": CdrImport, "cdr": Cdr}[model].objects.first()
    assert client.get(reverse(f"admin:voip_{model}_change", args=[obj.pk])).status_code == 200


def test_deck_import_lists_bad_rows_and_imports_nothing(client, staff_user, package):
    client.force_login(staff_user)
    url = reverse("admin:voip_ratepackage_import", args=[package.pk])
    bad = SimpleUploadedFile("deck.csv", (CDR_FIXTURES / "rates_bad_rows.csv").read_bytes())
    response = client.post(url, {"file": bad, "replace": "on"})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="deck-errors"' in html
    assert "<td>3</td><td>prefix must be 1 to 15 digits" in html
    assert "4 row(s) have errors: nothing was imported." in html
    assert Rate.objects.filter(package=package).count() == 5
    good = SimpleUploadedFile("deck.csv", (CDR_FIXTURES / "rates_dated.csv").read_bytes())
    response = client.post(url, {"file": good, "replace": "on"})
    assert response.status_code == 302 and Rate.objects.filter(package=package).count() == 5
    assert Rate.objects.filter(package=package, destination="Toll-free inbound").exists()


def test_a_cdr_upload_is_imported_and_its_report_shown(client, staff_user, service, source,
                                                       django_capture_on_commit_callbacks):
    client.force_login(staff_user)
    upload = SimpleUploadedFile("Master.csv", (CDR_FIXTURES / "asterisk_master.csv").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:voip_cdrimport_upload"),
                               {"source": source.pk, "file_format": "asterisk", "file": upload})
    cdr_import = CdrImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{cdr_import.pk}/change/")
    assert cdr_import.status == "done" and cdr_import.inserted == 5
    page = client.get(response["Location"]).content.decode()
    assert "<td>5</td><td>billsec must be a whole number, not &#x27;x&#x27;</td>" in page
    assert "acct9" in page  # the unmatched sample
    progress = client.get(reverse("admin:voip_cdrimport_progress", args=[cdr_import.pk])).json()
    assert progress == {"status": "done", "percent": 100, "lines": cdr_import.lines_read,
                        "bytes_done": cdr_import.bytes_total, "bytes_total": cdr_import.bytes_total, "done": True}


def test_a_running_import_page_polls_its_progress(client, staff_user, source):
    running = CdrImport.objects.create(source=source, kind="upload", status="running", bytes_total=1000,
                                       bytes_done=250, lines_read=40)
    client.force_login(staff_user)
    html = client.get(reverse("admin:voip_cdrimport_change", args=[running.pk])).content.decode()
    assert 'data-testid="import-progress"' in html and "25% · 40 lines" in html


def test_rerate_page(client, staff_user, service, source):
    stored_calls(service, source, [{"answer_time": "2026-01-05T10:00:00Z", "cost": "9.0000"}])
    client.force_login(staff_user)
    response = client.post(reverse("admin:voip_cdrimport_rerate"),
                           {"service": service.pk, "start": "2026-01-01", "end": "2026-01-31"})
    rerate = CdrImport.objects.get(kind="rerate")
    assert response.status_code == 302 and rerate.lines_read == 1
    assert Cdr.objects.get().cost == Decimal("0.7000")  # 1212 New York, 60 s: 0.10 + 0.60
    bad = client.post(reverse("admin:voip_cdrimport_rerate"), {"service": service.pk, "start": date(2026, 2, 1),
                                                                 "end": date(2026, 1, 1)})
    assert "The end date must be on or after the start date." in bad.content.decode()


def test_source_credentials_are_write_only(client, staff_user):
    source = CdrSource.objects.create(name="Vodia", kind="vodia", push_username="pbx", push_password="top-secret",
                                      password="api-secret")
    client.force_login(staff_user)
    url = reverse("admin:voip_cdrsource_change", args=[source.pk])
    html = client.get(url).content.decode()
    assert "top-secret" not in html and "api-secret" not in html
    assert reverse("voip:vodia_push", args=[source.pk]) in html
    data = {"name": "Vodia", "kind": "vodia", "push_username": "pbx", "push_password": "", "password": "",
            "token": "", "time_zone": "UTC", "schedule": "hourly", "enabled": "on", "column_mapping": "{}",
            "options": "{}", "file_format": "", "url": "", "username": "", "extension_digits": "6"}
    assert client.post(url, data).status_code == 302
    source.refresh_from_db()
    assert (source.push_password, source.password) == ("top-secret", "api-secret")


def test_a_new_lesnet_source_is_imported_daily(client, staff_user):
    client.force_login(staff_user)
    data = {"name": "LesNet", "kind": "lesnet", "schedule": "hourly", "time_zone": "UTC", "enabled": "on",
            "column_mapping": "{}", "options": "{}", "extension_digits": "6"}
    assert client.post(reverse("admin:voip_cdrsource_add"), data).status_code == 302
    assert CdrSource.objects.get(name="LesNet").schedule == "daily"


def test_staff_set_a_sources_inbound_contexts_and_extension_length_in_its_form(client, staff_user):
    client.force_login(staff_user)
    page = client.get(reverse("admin:voip_cdrsource_add")).content.decode()
    assert 'name="inbound_contexts"' in page and 'name="extension_digits"' in page
    data = {"name": "Stadion", "kind": "file", "schedule": "manual", "time_zone": "Asia/Irkutsk", "enabled": "on",
            "column_mapping": "{}", "options": "{}", "inbound_contexts": "stadion-pstn, from-trunk\nstadion-pstn",
            "extension_digits": "4"}
    assert client.post(reverse("admin:voip_cdrsource_add"), data).status_code == 302
    source = CdrSource.objects.get(name="Stadion")
    assert (source.inbound_contexts, source.extension_digits) == ("stadion-pstn\nfrom-trunk", 4)
    assert source.inbound_context_names() == {"stadion-pstn", "from-trunk"}
    data.update(name="Too long", extension_digits="11")
    page = client.post(reverse("admin:voip_cdrsource_add"), data).content.decode()
    assert "Ensure this value is less than or equal to 10." in page and not CdrSource.objects.filter(name="Too long")


def test_staff_set_the_billing_mode_and_see_it_in_the_list(client, staff_user, product):
    from portal.models import ActivityLog

    client.force_login(staff_user)
    settings_row = VoipProduct.objects.get(product=product)
    url = reverse("admin:voip_voipproduct_change", args=[settings_row.pk])
    response = client.post(url, {"product": product.pk, "rate_package": settings_row.rate_package_id,
                                 "billing_mode": "postpaid"})
    assert response.status_code == 302
    assert VoipProduct.objects.get(pk=settings_row.pk).billing_mode == "postpaid"
    log = ActivityLog.objects.get(action="voip_product_settings.change")
    assert log.data["changes"]["billing_mode"] == {"from": "prepaid", "to": "postpaid"}
    listing = client.get(reverse("admin:voip_voipproduct_changelist")).content.decode()
    assert "Postpaid (invoiced monthly" in listing


def test_the_voip_settings_are_one_row_edited_in_place(client, staff_user):
    from voip.models import VoipSettings

    client.force_login(staff_user)
    response = client.get(reverse("admin:voip_voipsettings_changelist"))
    row = VoipSettings.objects.get()
    assert response.status_code == 302 and response.url == reverse("admin:voip_voipsettings_change", args=[row.pk])
    response = client.post(response.url, {"low_balance_reminder_days": "7", "usage_invoice_due_days": "10"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.low_balance_reminder_days, row.usage_invoice_due_days) == (7, 10)
    response = client.post(reverse("admin:voip_voipsettings_change", args=[row.pk]),
                           {"low_balance_reminder_days": "0", "usage_invoice_due_days": "10"})
    assert response.status_code == 200 and "greater than or equal to 1" in response.content.decode()


def test_the_client_page_shows_the_voip_credit_limit(client, staff_user):
    client.force_login(staff_user)
    customer = ClientFactory(voip_credit_limit=Decimal("75.00"))
    page = client.get(reverse("admin:portal_client_change", args=[customer.pk])).content.decode()
    assert 'name="voip_credit_limit"' in page and 'value="75.00"' in page


def test_the_cdr_list_shows_the_usage_invoice_without_a_query_per_row(client, staff_user, package, source):
    from tests.factories import InvoiceFactory

    client.force_login(staff_user)
    url = reverse("admin:voip_cdr_changelist")

    def invoiced_rows(n):
        service = VoipServiceFactory(client=ClientFactory(), product=VoipProductFactory(rate_package=package))
        rows = stored_calls(service, source, [{"answer_time": "2026-01-05T10:00:00Z", "cost": "0.1", "postpaid": True}
                                              for _ in range(n)])
        Cdr.objects.filter(pk__in=[row.pk for row in rows]).update(usage_invoice=InvoiceFactory(client=service.client))

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context)

    invoiced_rows(1)
    few = queries()
    invoiced_rows(6)
    assert queries() == few


def test_inbound_contexts_kept_in_a_sources_options_move_to_the_new_field():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("voip.migrations.0009_source_inbound_contexts_and_extension_digits")
    listed = CdrSource.objects.create(name="Listed", kind="file", options={
        "inbound_contexts": ["stadion-pstn", "public"], "overlap_minutes": 60})
    untouched = CdrSource.objects.create(name="Untouched", kind="file", options={"overlap_minutes": 30})
    migration.contexts_from_options(apps, None)
    listed.refresh_from_db()
    untouched.refresh_from_db()
    assert (listed.inbound_contexts, listed.options) == ("stadion-pstn\npublic", {"overlap_minutes": 60})
    assert (untouched.inbound_contexts, untouched.options) == ("", {"overlap_minutes": 30})
