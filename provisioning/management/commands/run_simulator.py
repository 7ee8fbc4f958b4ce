import inspect
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from provisioning.simulation import SIMULATORS


def all_simulators():
    """The vendor simulators here and those of the floors above (settings.EXTRA_SIMULATORS: the payment gateways'),
    named in settings so that this floor never imports upwards."""
    return {**SIMULATORS, **getattr(settings, "EXTRA_SIMULATORS", {})}


class Command(BaseCommand):
    help = ("Run a vendor API simulator on loopback (tests, benchmarks and the demo use them). Its state lives in "
            "memory; GET /_simulator/state shows it.")
    requires_system_checks = []  # it needs no database: it may start before migrate, or beside a test database

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(all_simulators()), help="Which vendor's API.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: loopback only).")
        parser.add_argument("--port", type=int, default=0, help="Port (default: a free one, printed at start).")
        parser.add_argument("--latency-ms", type=float, default=0, help="Delay added to every vendor call.")
        parser.add_argument("--admin-username", help="System administrator login (SmarterMail).")
        parser.add_argument("--admin-password", help="System administrator password (SmarterMail).")
        parser.add_argument("--access-token-lifetime", type=float, help="Access token lifetime in seconds.")
        parser.add_argument("--api-key", help="The only API key accepted (Stripe; default: any sk_… key).")
        parser.add_argument("--webhook-url", help="Where signed webhooks are POSTed (Stripe, PayPal).")
        parser.add_argument("--webhook-secret", help="The webhook signing secret (Stripe).")
        parser.add_argument("--client-id", help="The only OAuth2 client id accepted (PayPal; default: any).")
        parser.add_argument("--client-secret", help="The only client secret accepted (PayPal; default: any).")
        parser.add_argument("--webhook-id", help="The id of the webhook it signs for (PayPal).")

    def handle(self, *args, name, host, port, latency_ms, **options):
        simulator_class = import_string(all_simulators()[name])
        accepted = inspect.signature(simulator_class).parameters
        extra = {key: value for key, value in options.items() if key in accepted and value is not None}
        if host not in ("127.0.0.1", "localhost", "::1"):
            self.stderr.write(self.style.WARNING(f"Listening on {host}: the simulator has test credentials; keep it "
                                                 "off public networks."))
        try:
            simulator = simulator_class(latency_ms=latency_ms, **extra)
        except TypeError as exc:
            raise CommandError(str(exc)) from exc
        stopped = threading.Event()  # set before "listening": a SIGTERM right after it must stop cleanly
        signal.signal(signal.SIGTERM, lambda *a: stopped.set())
        simulator.start(host, port)
        self.stdout.write(f"{name} simulator listening on http://{host}:{simulator.port} (Ctrl-C to stop)",
                          ending="\n")
        self.stdout.flush()
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        simulator.stop()
