"""The portal under load (issue 20): weighted scenarios shaped like real traffic, on the data of
bench/load/build_data.py (its fixture.json: signed-in sessions, ids, an API key).

Who comes, in what share (the classes' weights) and what each does (the tasks' weights):
- clients (most of the traffic): the dashboard, their services, invoices and an invoice's PDF;
- VoIP clients, small and big (the big ones hold most of the million call records): call records with the
  default 30 days, with filters (a month, a direction, a number) and a month's CSV;
- staff: the service, invoice, client, call-record and audit changelists with searches and filters, and a
  service's page;
- integrations: REST list endpoints with paging, and api.php GetClients, GetClientsProducts, GetInvoices.

Each request is named by its endpoint (the `name` below), so the report has one row per endpoint whatever the ids.
Run by bench/load/run.py; by hand: locust -f bench/load/locustfile.py --host http://127.0.0.1:8077
"""
import itertools
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

FIXTURE = json.loads(Path(os.environ.get("LOAD_FIXTURE", Path(__file__).parent / "var" / "fixture.json")).read_text())
TODAY = date.today()
LAST_MONTH_END = TODAY.replace(day=1) - timedelta(days=1)
LAST_MONTH = {"start": LAST_MONTH_END.replace(day=1).isoformat(), "end": LAST_MONTH_END.isoformat()}
WAIT = between(0.5, 2.0)  # a person reading a page; integrations poll a little faster


class SignedIn(FastHttpUser):
    abstract = True
    wait_time = WAIT

    def signed_in(self, session):
        self.cookie = {"Cookie": f"{os.environ.get('SESSION_COOKIE_NAME', 'sessionid')}={session}"}

    def page(self, path, name, **params):
        with self.client.get(path, params=params or None, headers=self.cookie, name=name, catch_response=True,
                             allow_redirects=False) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")


class Client(SignedIn):
    """A hosting client in the client area."""

    weight = 6

    def on_start(self):
        self.who = random.choice(FIXTURE["plain"])
        self.signed_in(self.who["session"])

    @task(10)
    def dashboard(self):
        self.page("/", "client: dashboard")

    @task(5)
    def services(self):
        self.page("/services/", "client: services")

    @task(5)
    def invoices(self):
        self.page("/invoices/", "client: invoices")

    @task(3)
    def invoice(self):
        if self.who["invoices"]:
            self.page(f"/invoices/{random.choice(self.who['invoices'])}/", "client: invoice")

    @task(2)
    def invoice_pdf(self):
        if self.who["invoices"]:
            self.page(f"/invoices/{random.choice(self.who['invoices'])}/pdf/", "client: invoice PDF")


class VoipClient(SignedIn):
    """A VoIP client reading its call records; one in five is a big client (hundreds of thousands of calls): the
    fifth, tenth, … to start, not a random draw, so that runs of the same size have the same mix."""

    weight = 2
    started = itertools.count(1)

    def on_start(self):
        big = next(VoipClient.started) % 5 == 0
        self.who = random.choice(FIXTURE["voip_big" if big else "voip_small"])
        self.size = "big" if big else "small"
        self.signed_in(self.who["session"])

    @task(3)
    def dashboard(self):
        self.page("/", "client: dashboard")

    @task(5)
    def calls(self):
        self.page(f"/services/{self.who['voip_service']}/calls/", f"voip {self.size}: calls, 30 days")

    @task(3)
    def calls_filtered(self):
        params = dict(LAST_MONTH, direction=random.choice(["outbound", "inbound", ""]))
        if random.random() < 0.5:
            params["number"] = f"1212{random.randrange(1000):03d}"
        params["page"] = random.choice(["1", "1", "2", "5"])
        self.page(f"/services/{self.who['voip_service']}/calls/", f"voip {self.size}: calls, filtered", **params)

    @task(1)
    def calls_csv(self):
        self.page(f"/services/{self.who['voip_service']}/calls.csv", f"voip {self.size}: month CSV", **LAST_MONTH)


class Staff(SignedIn):
    """A staff member working through the changelists."""

    weight = 1

    def on_start(self):
        self.signed_in(FIXTURE["staff_session"])

    @task(4)
    def services(self):
        self.page("/admin/billing/service/", "staff: services")

    @task(2)
    def services_search(self):
        self.page("/admin/billing/service/", "staff: services, search", q=f"client{random.randrange(25_000)}")

    @task(2)
    def services_filtered(self):
        self.page("/admin/billing/service/", "staff: services, filtered", status__exact="suspended",
                  product__type__exact="mail")

    @task(3)
    def service(self):
        self.page(f"/admin/billing/service/{random.choice(FIXTURE['services'])}/change/", "staff: service page")

    @task(3)
    def invoices(self):
        self.page("/admin/billing/invoice/", "staff: invoices")

    @task(2)
    def invoices_filtered(self):
        self.page("/admin/billing/invoice/", "staff: invoices, unpaid", status__exact="unpaid")

    @task(2)
    def invoices_search(self):
        self.page("/admin/billing/invoice/", "staff: invoices, search", q=f"LOAD-{random.randrange(300_000):07d}")

    @task(3)
    def clients(self):
        self.page("/admin/portal/client/", "staff: clients")

    @task(2)
    def clients_search(self):
        self.page("/admin/portal/client/", "staff: clients, search", q=f"Last{random.randrange(25_000)}")

    @task(2)
    def cdrs(self):
        self.page("/admin/voip/cdr/", "staff: call records")

    @task(1)
    def cdrs_filtered(self):
        self.page("/admin/voip/cdr/", "staff: call records, filtered", direction__exact="inbound",
                  status__exact="rated")

    @task(1)
    def cdrs_of_a_service(self):
        # Not the free-text search: a substring of caller or callee reads all million rows (docs/benchmarks.md).
        self.page("/admin/voip/cdr/", "staff: call records, one service",
                  service__id__exact=random.choice(FIXTURE["voip_big"] + FIXTURE["voip_small"])["voip_service"])

    @task(2)
    def audit(self):
        self.page("/admin/portal/activitylog/", "staff: audit log")

    @task(1)
    def audit_filtered(self):
        self.page("/admin/portal/activitylog/", "staff: audit log, filtered", action__exact="service.suspend")

    @task(1)
    def audit_client(self):
        self.page("/admin/portal/activitylog/", "staff: audit log, one client",
                  q=str(random.choice(FIXTURE["clients"])))


class Integration(FastHttpUser):
    """A billing integration or a reseller's script: REST lists with paging and the WHMCS api.php."""

    weight = 2
    wait_time = WAIT

    def on_start(self):
        self.bearer = {"Authorization": f"Bearer {FIXTURE['api_identifier']}.{FIXTURE['api_secret']}"}

    def rest(self, path, name, **params):
        with self.client.get(path, params=params, headers=self.bearer, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")

    def whmcs(self, action, **params):
        data = {"identifier": FIXTURE["api_identifier"], "secret": FIXTURE["api_secret"], "action": action,
                "responsetype": "json", **params}
        with self.client.post("/includes/api.php", data=data, name=f"api.php {action}",
                              catch_response=True) as response:
            if response.status_code != 200 or '"result":"success"' not in response.text.replace(" ", ""):
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(3)
    def rest_clients(self):
        self.rest("/api/v1/clients/", "REST clients", limit=50, offset=random.randrange(0, 20_000, 50))

    @task(3)
    def rest_services(self):
        self.rest("/api/v1/services/", "REST services", limit=50, offset=random.randrange(0, 5_000, 50))

    @task(3)
    def rest_invoices(self):
        self.rest("/api/v1/invoices/", "REST invoices", limit=50, offset=random.randrange(0, 5_000, 50))

    @task(2)
    def rest_cdrs(self):
        self.rest("/api/v1/cdrs/", "REST call records", limit=100, offset=random.randrange(0, 2_000, 100))

    @task(1)
    def rest_activity(self):
        self.rest("/api/v1/activity/", "REST activity", limit=100)

    @task(3)
    def get_clients(self):
        self.whmcs("GetClients", limitstart=random.randrange(0, 20_000, 25), limitnum=25)

    @task(3)
    def get_clients_products(self):
        self.whmcs("GetClientsProducts", clientid=random.choice(FIXTURE["clients"]))

    @task(3)
    def get_invoices(self):
        self.whmcs("GetInvoices", limitstart=random.randrange(0, 5_000, 25), limitnum=25, status="Unpaid")

