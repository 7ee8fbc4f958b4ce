"""A simulator of the EU's VIES REST API (the check the portal's portal.vat.ViesClient makes), for tests and the
demo: no VAT-number check leaves the machine. POST /check-vat-number {"countryCode", "vatNumber"} answers
{"valid": true/false, "requestDate", "name", "address", …} as VIES does; a member state marked unavailable
answers {"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}; the shared knobs inject
errors and timeouts (`sim.fail("status", status=503)`).

A number is valid when it is registered (`register("DE136695976", "Example GmbH")`, or POST /_simulator/seed
{"numbers": {"DE136695976": "Example GmbH"}}); the demo's numbers are registered at start. VIES itself does not
check check digits; the portal does before it asks.

Run it alone with `python manage.py run_simulator vies --port 9994` and set VIES_URL=http://127.0.0.1:9994.
VIES is billing's (through portal), but the simulator base is provisioning's: it lives here so that no floor
imports upwards (the client needs none of it)."""
from django.utils import timezone

from provisioning.simulation.base import Response, Simulator, route

# Numbers with valid check digits (python-stdnum), registered in every simulator: the demo's business clients.
DEMO_NUMBERS = {
    "DE136695976": "Beispiel Hosting GmbH",
    "FR40303265045": "Exemple Services SARL",
    "NL004495445B01": "Voorbeeld Diensten B.V.",
    "BE0403019261": "Exemple Belgique SA",
}


class ViesSimulator(Simulator):
    name = "vies"

    def __init__(self, *, latency_ms=0):
        super().__init__(latency_ms=latency_ms)
        self.numbers = dict(DEMO_NUMBERS)
        self.unavailable_countries = set()

    def register(self, number, name=""):
        with self.lock:
            self.numbers[number.upper()] = name

    def make_unavailable(self, country_prefix, unavailable=True):
        """VIES answers MS_UNAVAILABLE for this member state (as when its national database is down)."""
        with self.lock:
            (self.unavailable_countries.add if unavailable else self.unavailable_countries.discard)(country_prefix.upper())

    def failure_response(self, status):
        return Response(status, {"actionSucceed": False, "errorWrappers": [{"error": "SERVICE_UNAVAILABLE"}]})

    @route("POST", "/check-vat-number")
    def check(self, request):
        body = request.json
        if not isinstance(body, dict) or not body.get("countryCode") or not body.get("vatNumber"):
            return Response(400, {"actionSucceed": False, "errorWrappers": [{"error": "INVALID_INPUT"}]})
        prefix, number = str(body["countryCode"]).upper(), str(body["vatNumber"]).upper()
        with self.lock:
            if prefix in self.unavailable_countries:
                return Response(200, {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]})
            name = self.numbers.get(prefix + number)
        valid = name is not None
        return Response(200, {
            "countryCode": prefix, "vatNumber": number, "requestDate": timezone.now().isoformat(), "valid": valid,
            "requestIdentifier": "", "name": name or "---", "address": "---" if not valid else "",
            "traderName": "---", "traderStreet": "---", "traderPostalCode": "---", "traderCity": "---",
            "traderCompanyType": "---", "traderNameMatch": "NOT_PROCESSED", "traderStreetMatch": "NOT_PROCESSED",
            "traderPostalCodeMatch": "NOT_PROCESSED", "traderCityMatch": "NOT_PROCESSED",
            "traderCompanyTypeMatch": "NOT_PROCESSED",
        })

    def snapshot(self):
        with self.lock:
            return {"numbers": dict(self.numbers), "unavailable_countries": sorted(self.unavailable_countries)}

    def seed(self, data):
        with self.lock:
            self.numbers.update({k.upper(): v for k, v in (data.get("numbers") or {}).items()})
            self.unavailable_countries.update(c.upper() for c in data.get("unavailable_countries") or [])

    def reset(self):
        super().reset()
        with self.lock:
            self.numbers = dict(DEMO_NUMBERS)
            self.unavailable_countries = set()
