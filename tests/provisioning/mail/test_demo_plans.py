"""Plans that add up (issue 13, items 3–5), on the demo's own data against the SmarterMail simulator: the
mailbox allowance (included + bought) is the same on Accounts, the dashboard, the upgrade page and the create
check, with "used" counted from the provider's list; quotas are bounded by the plan's disk; each service shows
its own disk figure, the same on the service page and Accounts, under a caption that states the chart's span."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import ConfigurableOption, Product, Service, ServiceConfigOption
from config import demo
from portal.models import ClientUser
from provisioning import demo as provisioning_demo
from provisioning.mail.models import MailboxRecord
from provisioning.models import ModuleCall, UsageSample
from provisioning.modules.smartermail.simulator import SimUser

pytestmark = pytest.mark.django_db

BUSINESS_DISK_MB = (25 + 5 * 10) * 1024  # the demo's Mail Business: 25 GB included + at most 10 tranches of 5 GB


@pytest.fixture
def demo_mail(smartermail, monkeypatch):
    """The demo's data set (without its month of calls: these tests are about mail) on the simulator."""
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    demo._load_demo_data()
    provisioning_demo.attach_simulator()
    return smartermail


@pytest.fixture
def alice(client, demo_mail):
    client.force_login(ClientUser.objects.get(client__email="alice@acme.example", is_owner=True).user)
    return client


def business():
    return Service.objects.get(domain="acme.example", product__type=Product.Type.MAIL)


def page(client, name, service, *args):
    response = client.get(reverse(f"clientarea:{name}", args=[service.pk, *args]))
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def plan_usage(text):
    """The plan figures of the Accounts page, e.g. ["Basic: 1 of 5"]."""
    return [re.sub(r"<[^>]+>", "", badge).strip()
            for badge in re.findall(r'data-testid="plan-usage">(.*?)</span>', text)]


def add_users(simulator, domain, *names):
    for name in names:
        simulator.domain(domain).users[name] = SimUser(name, "Some-Passw0rd-1")


# --- item 3: one allowance, "used" from the provider's list -----------------------------------------------------

def test_the_demo_business_plan_shows_its_five_included_mailboxes_alike_on_accounts_dashboard_and_upgrade(alice):
    service = business()
    assert plan_usage(page(alice, "mail_accounts", service)) == ["Basic: 1 of 5"]
    dashboard = page(alice, "mail_dashboard", service)
    assert '<div class="fs-4 fw-semibold">1 <span class="fs-6 text-body-secondary">of 5</span>' in dashboard
    upgrade = page(alice, "service_change", service)
    field = re.search(r'<input type="number" name="option_mailboxes"[^>]*>', upgrade).group(0)
    assert 'value="5"' in field
    assert "5 included." in upgrade
    assert 'data-testid="plan-usage-now">Mailboxes now: Basic 1 of 5 in use.</p>' in upgrade


def test_after_an_upgrade_to_six_mailboxes_accounts_counts_every_listed_mailbox_against_six(alice, demo_mail):
    """Mail Basic (no mailbox options) upgraded to Mail Business with 6 mailboxes: the administrator's record
    has no type from the old plan; every mailbox the provider lists counts."""
    service = Service.objects.get(domain="acme-widgets.example")
    assert plan_usage(page(alice, "mail_accounts", service)) == ["Mailboxes: 1 of 5"]  # option 7 of Mail Basic
    assert MailboxRecord.objects.get(service=service).mailbox_type == ""
    pro = Product.objects.get(name="Mail Business")
    Service.objects.filter(pk=service.pk).update(product=pro)
    option = ConfigurableOption.objects.get(product=pro, code="mailboxes")
    ServiceConfigOption.objects.create(service=service, option=option, choice=option.choices.get(), quantity=6)
    add_users(demo_mail, "acme-widgets.example", "sales", "support")

    accounts = page(alice, "mail_accounts", service)

    assert plan_usage(accounts) == ["Basic: 3 of 6"]
    assert accounts.count('class="list-group-item mailbox-row"') == 3
    assert set(MailboxRecord.objects.filter(service=service).values_list("mailbox_type", flat=True)) == {"basic"}


def test_the_create_check_refuses_the_sixth_mailbox_of_five_counted_from_the_providers_list(alice, demo_mail):
    service = business()
    add_users(demo_mail, "acme.example", "a", "b", "c", "d")  # made elsewhere (webmail admin): 5 with admin
    before = ModuleCall.objects.count()

    response = alice.post(reverse("clientarea:mail_account_add", args=[service.pk]), {
        "local_part": "extra", "password": "Good-Passw0rd-12", "password2": "Good-Passw0rd-12", "quota_mb": "",
        "mailbox_type": "basic"})

    text = re.sub(r"\s+", " ", response.content.decode())
    assert response.status_code == 200
    assert "Your plan includes 5 mailboxes and 5 are in use." in text
    assert "extra" not in demo_mail.domain("acme.example").users
    assert ModuleCall.objects.count() == before  # no create was sent (and the list read kept no failure)


def test_the_demo_seeds_the_simulators_user_limit_from_the_plans_allowance(demo_mail):
    assert demo_mail.domain("acme.example").user_limit == 5  # Mail Business: 5 mailboxes included
    assert demo_mail.domain("acme-widgets.example").user_limit == 5  # Mail Basic: option 7


# --- item 4: quotas bounded by the plan's disk ---------------------------------------------------------------------

def test_the_mailbox_forms_say_the_plans_quota_limit(alice):
    service = business()
    limit = f"At most {BUSINESS_DISK_MB:,} MB (75 GB), your plan's disk."
    assert limit in page(alice, "mail_account_add", service)
    page(alice, "mail_accounts", service)  # records the administrator
    assert limit in page(alice, "mail_account_edit", service, "admin")


def test_a_quota_above_the_plans_disk_is_refused_on_create_with_the_limit_named(alice, demo_mail):
    service = business()

    response = alice.post(reverse("clientarea:mail_account_add", args=[service.pk]), {
        "local_part": "big", "password": "Good-Passw0rd-12", "password2": "Good-Passw0rd-12",
        "quota_mb": "5000000", "mailbox_type": "basic"})

    text = re.sub(r"\s+", " ", response.content.decode())
    assert f"Your plan allows at most {BUSINESS_DISK_MB:,} MB (75 GB) per mailbox." in text
    assert "big" not in demo_mail.domain("acme.example").users
    assert not ModuleCall.objects.filter(action="mail.mailbox_create").exists()


def test_a_quota_above_the_plans_disk_is_refused_on_edit_and_one_within_is_saved(alice, demo_mail):
    service = business()
    page(alice, "mail_accounts", service)
    edit = reverse("clientarea:mail_account_edit", args=[service.pk, "admin"])

    refused = alice.post(edit, {"name": "", "quota_mb": str(BUSINESS_DISK_MB + 1), "enabled": "on"})
    assert f"Your plan allows at most {BUSINESS_DISK_MB:,} MB (75 GB) per mailbox." in refused.content.decode()
    assert demo_mail.domain("acme.example").users["admin"].max_mailbox_size == 0

    saved = alice.post(edit, {"name": "", "quota_mb": str(BUSINESS_DISK_MB), "enabled": "on"})
    assert saved.status_code == 302
    assert demo_mail.domain("acme.example").users["admin"].max_mailbox_size == BUSINESS_DISK_MB * 1024 * 1024


def test_a_mailbox_whose_quota_is_already_above_the_plan_can_still_be_renamed(alice, demo_mail):
    service = business()
    demo_mail.domain("acme.example").users["admin"].max_mailbox_size = 100_000 * 1024 * 1024  # set before the bound
    page(alice, "mail_accounts", service)
    edit = reverse("clientarea:mail_account_edit", args=[service.pk, "admin"])

    renamed = alice.post(edit, {"name": "Front desk", "quota_mb": "100000", "enabled": "on"})
    assert renamed.status_code == 302
    admin = demo_mail.domain("acme.example").users["admin"]
    assert (admin.full_name, admin.max_mailbox_size) == ("Front desk", 100_000 * 1024 * 1024)

    raised = alice.post(edit, {"name": "Front desk", "quota_mb": "100001", "enabled": "on"})
    assert f"Your plan allows at most {BUSINESS_DISK_MB:,} MB (75 GB) per mailbox." in raised.content.decode()
    assert demo_mail.domain("acme.example").users["admin"].max_mailbox_size == 100_000 * 1024 * 1024


def test_the_service_layer_refuses_a_quota_above_the_plan_whatever_the_caller(demo_mail):
    from portal.activity import Actor
    from provisioning.mail import services
    from provisioning.mail.selectors import mail_context

    service = business()
    ctx = mail_context(service.client, service.pk)
    with pytest.raises(services.MailRefused) as refused:
        services.mailbox_create(ctx, actor=Actor.system("test"), local_part="big", password="Good-Passw0rd-12",
                                quota_mb=5_000_000, mailbox_type="basic")
    assert refused.value.field == "quota_mb"
    assert refused.value.message == f"Your plan allows at most {BUSINESS_DISK_MB:,} MB (75 GB) per mailbox."
    assert "big" not in demo_mail.domain("acme.example").users


@pytest.mark.parametrize(("options", "expected"), [
    ({"disk_included_gb": "25", "disk_tranche_size_gb": "5", "disk_tranche_price": "2.00", "disk_tranche_max": 10},
     75 * 1024),  # included + the most tranches billed
    ({"disk_included_gb": "5", "disk_tranche_size_gb": "1", "disk_tranche_price": "", "disk_tranche_max": 0},
     5 * 1024),  # disk billing off: only what is included
    ({"disk_included_gb": "0", "disk_tranche_size_gb": "1", "disk_tranche_price": "", "disk_tranche_max": 0},
     None),  # nothing set: no plan bound
    ({"disk_included_gb": "5", "disk_tranche_size_gb": "1", "disk_tranche_price": "0.50", "disk_tranche_max": 0},
     None),  # every started tranche is billed, without a cap
    ({"domain_quota_mb": 1000}, 1000),  # Modoboa's domain quota
    ({"domain_quota_mb": 0}, None),
])
def test_the_plans_disk_follows_the_disk_tranche_options(options, expected):
    from provisioning.mail.plan import plan_disk_mb

    assert plan_disk_mb(options) == expected


# --- item 5: each service's own disk figure, one caption for the axis ------------------------------------------------

def smartermail_services():
    """The demo's live mail services on SmarterMail (its PolarisMail service has its own tests, in
    tests/provisioning/modules/polarismail/: these run against the SmarterMail simulator only)."""
    return Service.objects.filter(product__type=Product.Type.MAIL, product__module="smartermail",
                                  status=Service.Status.ACTIVE)


def disk_figure(text):
    return re.search(r'data-testid="disk-usage">\s*([\d,]+ MB)', text).group(1)


def test_each_demo_mail_service_has_its_own_disk_figure_the_same_on_its_page_and_on_accounts(alice):
    services = list(smartermail_services().filter(client__email="alice@acme.example").order_by("pk"))
    assert len(services) == 2
    figures = []
    for service in services:
        stored = f"{service.disk_usage_mb:,.0f} MB"
        service_page = re.sub(r"\s+", " ", alice.get(reverse("clientarea:service", args=[service.pk])).content.decode())
        assert disk_figure(service_page) == stored
        accounts = page(alice, "mail_accounts", service)
        assert disk_figure(accounts) == stored
        # the demo's mail is its administrator's: the mailbox row adds up to the domain's figure
        assert f"{service.disk_usage_mb:.0f} MB used, no quota" in accounts
        figures.append(stored)
    assert figures[0] != figures[1]
    globex = Service.objects.get(domain="globex.example")
    assert globex.disk_usage_mb not in {s.disk_usage_mb for s in services}


def test_the_demo_history_ends_at_each_services_own_figure(demo_mail):
    for service in smartermail_services():
        last = UsageSample.objects.filter(service=service).latest("date")
        assert last.disk_mb == service.disk_usage_mb
        assert demo_mail.domain(service.domain).size == int(service.disk_usage_mb * 1024 * 1024)


def test_the_charts_caption_states_the_span_of_its_axis(alice):
    service = business()
    today = timezone.localdate()
    text = re.sub(r"\s+", " ", alice.get(reverse("clientarea:service", args=[service.pk])).content.decode())
    first, last = today - timedelta(days=30), today
    assert f'>{first.isoformat()}</text>' in text and f'>{last.isoformat()}</text>' in text  # the axis
    assert f"Daily readings from {first.isoformat()} to {last.isoformat()} (30 days)." in text
    assert "90 days" not in text


def test_a_chart_of_older_readings_says_their_own_span(alice):
    service = business()
    UsageSample.objects.filter(service=service, date__gt=timezone.localdate() - timedelta(days=10)).delete()
    UsageSample.objects.filter(service=service, date__lt=timezone.localdate() - timedelta(days=20)).delete()
    today = timezone.localdate()
    text = re.sub(r"\s+", " ", alice.get(reverse("clientarea:service", args=[service.pk])).content.decode())
    first, last = today - timedelta(days=20), today - timedelta(days=10)
    assert f"Daily readings from {first.isoformat()} to {last.isoformat()} (10 days)." in text


def test_the_upgrade_page_counts_the_mailboxes_in_use_before_accounts_was_ever_opened(smartermail, monkeypatch,
                                                                                       client):
    """The demo seeds its simulator behind the portal's back: loading it records what the provider lists, so the
    upgrade page says the same "1 of 5 in use" as Accounts from the first visit (it said 0 until Accounts ran)."""
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    demo.load_demo()
    client.force_login(ClientUser.objects.get(client__email="alice@acme.example", is_owner=True).user)
    change_page = page(client, "service_change", business())
    assert 'data-testid="plan-usage-now">Mailboxes now: Basic 1 of 5 in use.' in change_page
    assert plan_usage(page(client, "mail_accounts", business())) == ["Basic: 1 of 5"]
