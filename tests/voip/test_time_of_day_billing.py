"""Time-of-day rates (step 10) through the portal: deck files with period columns imported into a package, calls
rated on import and re-rated in the client's time zone (else the business time zone), the client's time zone
edited by staff and by the client, rate periods edited in the admin, and `rate_cdrs --client-time-zone`."""
import csv
import io
from datetime import date, time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import CreditLedgerEntry
from portal.models import ActivityLog, Client
from tests.voip.factories import SYSTEM
from tests.voip.test_imports import upload
from voip.models import Cdr, Rate, RatePackage
from voip.services.decks import deck_for, import_deck

pytestmark = pytest.mark.django_db

HEADER = "prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds,days,start_time,end_time\n"
PEAK_DECK = [
    HEADER,
    "1212,New York peak,0.10,0.60,1,1,mon-fri,08:00,18:00\n",
    "1212,New York,0.10,0.30,1,1,,,\n",
    "1,USA/Canada,0,0.012,6,6,,,\n",
]
CDR_HEADER = "id,direction,caller,callee,answer_time,billsec,disposition\n"


def cdrs(*rows):
    return (CDR_HEADER + "".join(f"{row}\n" for row in rows)).encode()


def set_zone(client_id, name):
    Client.objects.filter(pk=client_id).update(time_zone=name)


@pytest.fixture
def peak_package(product):
    package = product.voip.rate_package
    result = import_deck(package=package, lines=PEAK_DECK, replace=True, skip_bad_rows=False, actor=SYSTEM)
    assert result.ok
    return package


def test_a_deck_file_with_period_columns_is_imported_with_its_periods(peak_package):
    rows = {row.destination: row for row in Rate.objects.filter(package=peak_package)}
    assert set(rows) == {"New York peak", "New York", "USA/Canada"}
    peak = rows["New York peak"]
    assert (peak.days, peak.start_time, peak.end_time, peak.period) == ("12345", time(8), time(18),
                                                                          "mon-fri 08:00–18:00")
    assert (rows["New York"].days, rows["New York"].start_time, rows["New York"].period) == ("", None, "all day")
    deck = deck_for(RatePackage.objects.get(pk=peak_package.pk))
    assert deck.timed and {rate.days for rate in deck.rates} == {"12345", ""}


def test_an_old_deck_without_period_columns_imports_all_day_rates(package):
    assert set(Rate.objects.filter(package=package).values_list("days", "start_time", "end_time")) == {("", None, None)}
    assert not deck_for(package).timed


def test_import_reads_periods_in_the_clients_time_zone(service, source, peak_package):
    """20:00 UTC on Monday 2024-01-15 is 15:00 in New York: peak for a New York client (0.10 + 0.60)."""
    set_zone(service.client_id, "America/New_York")
    upload(source, "calls.csv", "portal", cdrs("t1,outbound,1001,2125551234,2024-01-15T20:00:00Z,60,ANSWERED"))
    call = Cdr.objects.get(external_id="t1")
    assert (call.status, call.cost, call.destination) == ("rated", Decimal("0.7000"), "New York peak")


@pytest.mark.parametrize(("business_zone", "cost", "destination"), [
    ("UTC", "0.4000", "New York"),  # 20:00 UTC: off-peak
    ("America/New_York", "0.7000", "New York peak"),  # 15:00: peak
])
def test_a_client_without_a_zone_gets_the_business_time_zone(settings, service, source, peak_package, business_zone,
                                                              cost, destination):
    settings.BUSINESS_TIME_ZONE = business_zone
    upload(source, "calls.csv", "portal", cdrs("t1,outbound,1001,2125551234,2024-01-15T20:00:00Z,60,ANSWERED"))
    call = Cdr.objects.get(external_id="t1")
    assert (call.cost, call.destination) == (Decimal(cost), destination)


def test_an_imported_call_across_the_end_of_peak_is_split_and_charged_once(service, source, peak_package):
    """17:59 New York + 150 s: 60 s peak + 90 s off-peak, one connect fee: 0.10 + 0.60 + 0.45 = 1.15."""
    set_zone(service.client_id, "America/New_York")
    result = upload(source, "calls.csv", "portal",
                    cdrs("t1,outbound,1001,2125551234,2024-01-15T22:59:00Z,150,ANSWERED"))
    call = Cdr.objects.get(external_id="t1")
    assert (call.billed_seconds, call.cost, call.precise_cost) == (150, Decimal("1.1500"), Decimal("1.15"))
    assert call.reason == ("split by time of day: 60 s at 0.6/min (mon-fri 08:00–18:00), "
                           "90 s at 0.3/min (all day)")
    assert result.charged == Decimal("1.1500")
    assert Client.objects.get(pk=service.client_id).credit_balance == Decimal("-1.1500")


def test_rerating_applies_new_periods_and_the_clients_zone(service, source, package):
    """Imported with the all-day deck (0.10 + 0.60/min); the package then gets a peak/off-peak deck."""
    upload(source, "calls.csv", "portal", cdrs("t1,outbound,1001,2125551234,2024-01-15T20:00:00Z,60,ANSWERED"))
    assert Cdr.objects.get(external_id="t1").cost == Decimal("0.7000")
    import_deck(package=package, lines=PEAK_DECK, replace=True, skip_bad_rows=False, actor=SYSTEM)
    # Business time zone UTC: 20:00 is off-peak.
    off_peak = rerate_day(service)
    assert off_peak.charged == Decimal("-0.3000") and Cdr.objects.get(external_id="t1").cost == Decimal("0.4000")
    # The client moves to New York: 15:00 there, peak again.
    set_zone(service.client_id, "America/New_York")
    peak = rerate_day(service)
    assert peak.charged == Decimal("0.3000") and Cdr.objects.get(external_id="t1").cost == Decimal("0.7000")
    assert [entry.amount for entry in CreditLedgerEntry.objects.filter(kind="adjustment").order_by("id")] == [
        Decimal("0.3000"), Decimal("-0.3000")]
    assert rerate_day(service).charged == 0  # nothing changed since


def rerate_day(service):
    from voip.services.rerating import rerate_service

    return rerate_service(service=service, start=date(2024, 1, 15), end=date(2024, 1, 15), actor=SYSTEM)


def test_a_client_zone_the_rating_core_cannot_use_leaves_calls_unrated(service, source, peak_package):
    set_zone(service.client_id, "Mars/Olympus")  # written around the model's validation
    upload(source, "calls.csv", "portal", cdrs("t1,outbound,1001,2125551234,2024-01-15T20:00:00Z,60,ANSWERED"))
    call = Cdr.objects.get(external_id="t1")
    assert (call.status, call.cost) == ("unrated", Decimal("0"))
    assert "time zone" in call.reason and "Mars/Olympus" in call.reason


# Client.time_zone: validated, edited by staff and by the client.

def test_the_client_time_zone_must_be_a_known_iana_name(owner):
    owner.time_zone = "Mars/Olympus"
    with pytest.raises(Exception) as error:
        owner.full_clean()
    assert error.value.message_dict["time_zone"] == [
        "'Mars/Olympus' is not a known IANA time zone: use a name such as America/New_York."]
    owner.time_zone = "Europe/London"
    owner.full_clean()
    owner.time_zone = ""
    owner.full_clean()


def test_staff_set_the_client_time_zone_in_the_admin(rf, staff_user, owner):
    from django.contrib import admin

    page_admin = admin.site._registry[Client]
    request = rf.get("/")
    request.user = staff_user
    form_class = page_admin.get_form(request, owner)
    assert "time_zone" in form_class.base_fields
    data = {name: getattr(owner, name) for name in form_class.base_fields if getattr(owner, name, None) is not None}
    refused = form_class({**data, "time_zone": "Nowhere/Land"}, instance=owner)
    assert not refused.is_valid() and refused.errors["time_zone"] == [
        "'Nowhere/Land' is not a known IANA time zone: use a name such as America/New_York."]
    accepted = form_class({**data, "time_zone": "America/Chicago"}, instance=Client.objects.get(pk=owner.pk))
    assert accepted.is_valid(), accepted.errors
    assert accepted.save().time_zone == "America/Chicago"


def test_a_client_sets_its_time_zone_on_the_profile_page(client, owner):
    client.force_login(owner.owner_user)
    form = client.get("/profile/").context["form"]
    assert form.fields["time_zone"].choices[0][0] == "" and ("Asia/Tokyo", "Asia/Tokyo") in form.fields[
        "time_zone"].choices
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data["time_zone"] = "Asia/Tokyo"
    assert client.post("/profile/", data).status_code == 302
    assert Client.objects.get(pk=owner.pk).time_zone == "Asia/Tokyo"
    entry = ActivityLog.objects.get(action="client.profile_update")
    assert entry.data["changes"] == {"time_zone": ["", "Asia/Tokyo"]}
    data["time_zone"] = "Asia/Atlantis"
    refused = client.post("/profile/", data)
    assert refused.status_code == 200 and set(refused.context["form"].errors) == {"time_zone"}
    assert Client.objects.get(pk=owner.pk).time_zone == "Asia/Tokyo"


# The rate admin edits periods.

def rate_form_data(package, **changes):
    data = {
        "package": package.pk, "prefix": "1212", "destination": "New York peak", "direction": "both",
        "connect_fee": "0.10", "rate_per_minute": "0.60", "minimum_seconds": "1", "increment_seconds": "1",
        "free_seconds": "0", "nocharge_below": "0", "weight": "0", "days": ["1", "2", "3", "4", "5"],
        "start_time": "08:00", "end_time": "18:00",
    }
    data.update(changes)
    return data


def test_staff_add_a_peak_rate_with_weekday_boxes_and_times(client, staff_user, package):
    client.force_login(staff_user)
    version = package.rates_version
    response = client.post(reverse("admin:voip_rate_add"), rate_form_data(package))
    assert response.status_code == 302
    rate = Rate.objects.get(package=package, destination="New York peak")
    assert (rate.days, rate.start_time, rate.end_time) == ("12345", time(8), time(18))
    assert RatePackage.objects.get(pk=package.pk).rates_version == version + 1
    page = client.get(reverse("admin:voip_rate_change", args=[rate.pk]))
    assert page.context["adminform"].form.initial["days"] == ["1", "2", "3", "4", "5"]
    listing = client.get(reverse("admin:voip_rate_changelist") + f"?package__id__exact={package.pk}")
    assert "mon-fri 08:00–18:00" in listing.content.decode()


def test_a_rate_edited_or_deleted_by_hand_is_in_the_activity_log(client, staff_user, package):
    client.force_login(staff_user)
    client.post(reverse("admin:voip_rate_add"), rate_form_data(package))
    rate = Rate.objects.get(package=package, destination="New York peak")
    client.post(reverse("admin:voip_rate_change", args=[rate.pk]), rate_form_data(package, rate_per_minute="0.55"))
    client.post(reverse("admin:voip_rate_delete", args=[rate.pk]), {"post": "yes"})
    entries = list(ActivityLog.objects.filter(action__startswith="voip_rate.").order_by("pk"))
    assert [e.action for e in entries] == ["voip_rate.create", "voip_rate.change", "voip_rate.delete"]
    change = entries[1].data["changes"]["rate_per_minute"]
    assert (Decimal(change["from"]), Decimal(change["to"])) == (Decimal("0.60"), Decimal("0.55"))
    assert {e.actor_label for e in entries} == {staff_user.get_username()}
    assert not Rate.objects.filter(pk=rate.pk).exists()


def test_every_day_ticked_is_stored_as_all_days(client, staff_user, package):
    client.force_login(staff_user)
    client.post(reverse("admin:voip_rate_add"), rate_form_data(
        package, days=[str(day) for day in range(1, 8)], start_time="", end_time="", destination="All week"))
    assert Rate.objects.get(destination="All week").days == ""


def test_a_period_ending_before_it_starts_is_refused(client, staff_user, package):
    client.force_login(staff_user)
    response = client.post(reverse("admin:voip_rate_add"), rate_form_data(package, start_time="18:00",
                                                                            end_time="08:00"))
    assert response.status_code == 200
    assert "a period cannot cross midnight" in response.content.decode()
    assert not Rate.objects.filter(destination="New York peak").exists()


# rate_cdrs reads periods in --client-time-zone (default: the business time zone).

def run_command(tmp_path, *extra):
    deck, calls, out = tmp_path / "rates.csv", tmp_path / "cdrs.csv", tmp_path / "rated.csv"
    deck.write_text("".join(PEAK_DECK), encoding="utf-8")
    calls.write_bytes(cdrs("c1,outbound,1001,2125551234,2024-01-15T20:00:00Z,60,ANSWERED",
                           "c2,outbound,1001,2125551234,2024-01-15T22:59:00Z,150,ANSWERED"))
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("rate_cdrs", "--rates", str(deck), "--cdrs", str(calls), "--out", str(out), *extra,
                 stdout=stdout, stderr=stderr)
    with open(out, newline="", encoding="utf-8") as rated:
        return {row["id"]: (row["destination"], row["cost"]) for row in csv.DictReader(rated)}


def test_rate_cdrs_reads_periods_in_the_client_time_zone(tmp_path, settings):
    settings.BUSINESS_TIME_ZONE = "UTC"
    assert run_command(tmp_path) == {"c1": ("New York", "0.4000"), "c2": ("New York", "0.8500")}
    assert run_command(tmp_path, "--client-time-zone", "America/New_York") == {
        "c1": ("New York peak", "0.7000"), "c2": ("New York peak", "1.1500")}
    settings.BUSINESS_TIME_ZONE = "America/New_York"
    assert run_command(tmp_path)["c1"] == ("New York peak", "0.7000")


def test_rate_cdrs_refuses_an_unknown_client_time_zone(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--client-time-zone: unknown time zone 'Mars/Olympus'"):
        run_command(tmp_path, "--client-time-zone", "Mars/Olympus")
