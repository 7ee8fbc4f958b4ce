"""VoIP in a real browser: a client opens a VoIP service's call records, filters them by direction and number,
exports the filtered calls as CSV and sees the daily spend chart. The calls come in through the real import
pipeline (a portal-format file, rated with tests/fixtures/cdrs/rates.csv). Screenshots: tests/browser/screenshots/."""
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import login_client, screenshot
from tests.factories import ClientFactory
from tests.voip.factories import CdrSourceFactory, RatePackageFactory, VoipProductFactory, VoipServiceFactory
from voip.services.uploads import process_upload, upload_cdr_file

pytestmark = [pytest.mark.browser, pytest.mark.services]


def import_calls(source):
    now = timezone.now().replace(microsecond=0)
    rows = ["id,direction,caller,callee,answer_time,billsec"]
    for n in range(12):  # one outbound New York call a day, 60 s: 0.10 + 0.60
        rows.append(f"ny{n},outbound,1001,2125551234,{(now - timedelta(days=n, hours=1)).isoformat()},60")
    rows.append(f"uk1,outbound,1001,+442083661177,{(now - timedelta(days=1, hours=2)).isoformat()},24")
    rows.append(f"in1,inbound,+13105550199,2125550100,{(now - timedelta(days=2, hours=3)).isoformat()},60")
    upload = SimpleUploadedFile("calls.csv", ("\n".join(rows) + "\n").encode())
    cdr_import = upload_cdr_file(source=source, uploaded_file=upload, file_format="portal")
    process_upload(import_id=cdr_import.pk)  # nothing to do when the queued task already ran it (autocommit)
    cdr_import.refresh_from_db()
    assert (cdr_import.status, cdr_import.rated) == ("done", 14)


def test_client_filters_calls_exports_csv_and_sees_the_spend_chart(page, live_server):
    client = ClientFactory()
    product = VoipProductFactory(rate_package=RatePackageFactory(), name="VoIP Business")
    service = VoipServiceFactory(
        client=client, product=product, domain="pbx.acme.example",
        module_data={"tenant": "pbx.acme.example", "extensions": ["1001"], "dids": ["12125550100"]},
    )
    import_calls(CdrSourceFactory())

    login_client(page, client.owner_user)
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="pbx.acme.example").click()
    expect(page.get_by_test_id("voip-panel")).to_contain_text("Calls this month")
    page.get_by_role("link", name="Call records").click()
    expect(page.locator("h1")).to_have_text("Call records")
    chart = page.get_by_test_id("spend-chart")
    expect(chart).to_be_visible()
    assert page.locator("svg.spend-chart rect.spend-bar").count() >= 10
    expect(page.get_by_test_id("call-totals")).to_contain_text("14")
    expect(page.get_by_test_id("voip-balance")).to_contain_text("-9.27")  # 12 × 0.70 + 0.17 + 0.70
    screenshot(page, "voip-1-calls")

    page.get_by_label("Direction").select_option("outbound")
    page.get_by_label("Number").fill("+44 20")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("call-totals")).to_contain_text("0.1700")
    rows = page.get_by_test_id("call-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("United Kingdom London")
    screenshot(page, "voip-2-filtered")

    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert download.suggested_filename.startswith("calls-pbx.acme.example-")
    exported = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert exported[0][0] == "answer_time"
    assert [(row[1], row[4], row[8]) for row in exported[1:]] == [("outbound", "442083661177", "0.1700")]
    assert Decimal(exported[1][8]) == Decimal("0.17")

    page.get_by_role("link", name="Reset").click()
    page.get_by_label("Direction").select_option("inbound")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("call-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("spend-chart")).to_have_attribute("aria-label", re.compile(r"0\.70 USD in total"))
    screenshot(page, "voip-3-inbound")


def test_a_vodia_call_is_one_row_and_local_calls_have_their_own_filter(page, live_server):
    """Vodia pushes two legs per outbound call (the extension's and the trunk's): the client sees one call; an
    extension-to-extension call appears only under the Local filter, outside the call count."""
    import json

    from provisioning.modules.vodia.simulator import json_leg
    from voip.models import CdrSource
    from voip.services.push import receive_push

    client = ClientFactory()
    service = VoipServiceFactory(
        client=client, product=VoipProductFactory(rate_package=RatePackageFactory(), name="VoIP Business"),
        domain="pbx.acme.example", module_data={"tenant": "pbx.acme.example", "extensions": ["1001", "1002"]},
    )
    source = CdrSource.objects.create(name="Vodia", kind=CdrSource.Kind.VODIA, schedule=CdrSource.Schedule.MANUAL)
    at = int((timezone.now() - timedelta(hours=2)).timestamp())
    times = {"start": at, "connect": at + 5, "end": at + 65}
    legs = [
        json_leg(call_id="c1", direction="I", extension="1001", local_party="+12125551234", remote_party="1001",
                 **times),
        json_leg(call_id="c1-trunk", primary_call_id="c1", direction="O", trunk="SIP Trunk", local_party="1001",
                 remote_party="+12125551234", **times),
        json_leg(call_id="x1", direction="I", extension="1001", local_party="1002", remote_party="1001", **times),
    ]
    for leg in legs:
        receive_push(source=source, body=json.dumps(leg).encode(), account="pbx.acme.example")

    login_client(page, client.owner_user)
    page.goto(f"/services/{service.pk}/calls/")
    rows = page.get_by_test_id("call-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Outbound")
    expect(page.get_by_test_id("call-totals")).to_contain_text("Calls")
    expect(page.get_by_test_id("call-totals")).to_contain_text("0.7000")
    screenshot(page, "voip-4-one-row-per-call")

    page.get_by_label("Direction").select_option("local")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Local")
    expect(rows.first).to_contain_text("1002")
    expect(page.get_by_test_id("call-totals")).to_contain_text("Local calls (extension to extension)")
    screenshot(page, "voip-5-local-calls")
    screenshot(page, "voip-5-local-calls-phone", viewport={"width": 390, "height": 844})
