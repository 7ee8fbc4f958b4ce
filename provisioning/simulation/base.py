"""What every vendor simulator shares: a threaded HTTP/1.1 server on loopback, routing to handler methods,
in-memory state under one lock, a clock tests can move, and knobs for latency and injected failures.

    sim = SmarterMailSimulator(latency_ms=50).start()      # port 0: a free port
    sim.url                                                # http://127.0.0.1:41234
    sim.fail("status", path="domain-put", status=503)      # the next matching call answers 503
    sim.fail("timeout", path="domains", seconds=5)         # ... answers only after 5 s
    sim.fail("drop", times=2)                              # ... closes the connection without an answer
    sim.fail_randomly("status", rate=0.2, seed=7)          # each call: a 503 with probability 0.2 (seeded)
    sim.injected                                           # Counter of the failures injected, by kind
    sim.advance(61)                                        # 61 s later, for expiring tokens
    sim.stop()

Each simulator also answers a small non-vendor API under /_simulator/ (state, seed, knobs, reset), for the
demo and for tests that talk to a simulator in another process. Vendor routes never start with /_simulator/.
"""
import inspect
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

INSPECTION_PREFIX = "/_simulator/"
# For the <head> of a simulator's HTML page: an empty icon, so browsers do not ask for /favicon.ico (a 404 in the
# console of the demo's checkout and control panel pages).
NO_ICON = '<link rel="icon" href="data:,">'


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    host: str

    @property
    def json(self):
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def bearer(self):
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else ""

    @property
    def root_url(self):
        """The URL the caller used to reach this server, for links the simulator hands out."""
        return f"http://{self.host}"


@dataclass
class Response:
    status: int
    body: object = None  # dict/list: JSON; str: HTML
    headers: dict = None

    def encode(self):
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body if self.body is not None else {}).encode(), "application/json; charset=utf-8"


@dataclass
class Failure:
    kind: str  # "status", "timeout", "drop"
    path: str = ""  # substring of the request path it applies to ("" = any vendor call)
    times: int = 1
    status: int = 500
    seconds: float = 10.0
    rate: float = 0.0  # for fail_randomly: the probability that a matching call fails this way


def route(method, pattern, **meta):
    """Mark a handler for `method` and a path pattern whose `{name}` parts become keyword arguments. `meta`
    is for the simulator's `call_route` (e.g. which token the route needs)."""

    def mark(handler):
        handler.route = (method, pattern)
        handler.meta = meta
        return handler

    return mark


class Simulator:
    name = ""

    def __init__(self, *, latency_ms=0):
        self.lock = threading.RLock()
        self.latency_ms = latency_ms
        self.failures = []
        self.random_failures = []
        self.injected = Counter()  # kind → failures injected so far (one-off and random)
        self._rng = random.Random(0)
        self.calls = deque(maxlen=10_000)  # (method, path) of each vendor call, newest last
        self._offset = 0.0
        self._stopping = threading.Event()
        self._httpd = None
        self._routes = self._collect_routes()

    # --- time --------------------------------------------------------------------------------------------

    def now(self):
        return time.time() + self._offset

    def advance(self, seconds):
        """Move the simulator's clock forward (token and login-link expiry)."""
        with self.lock:
            self._offset += seconds

    # --- knobs -------------------------------------------------------------------------------------------

    def fail(self, kind, *, path="", times=1, status=500, seconds=10.0):
        if kind not in ("status", "timeout", "drop"):
            raise ValueError(f"Unknown failure kind {kind!r}: status, timeout or drop.")
        with self.lock:
            self.failures.append(Failure(kind, path, times, status, seconds))

    def fail_randomly(self, kind, *, rate, seed=None, path="", status=503, seconds=10.0):
        """Every matching call fails this way with probability `rate` (fault injection over many calls). The
        draws come from one generator seeded by `seed` (when given): the same calls in the same order meet the
        same failures. Rules are drawn in the order they were added; the first that fires wins."""
        if kind not in ("status", "timeout", "drop"):
            raise ValueError(f"Unknown failure kind {kind!r}: status, timeout or drop.")
        if not 0 <= rate <= 1:
            raise ValueError(f"A failure rate is a probability between 0 and 1, not {rate!r}.")
        with self.lock:
            if seed is not None:
                self._rng.seed(seed)
            self.random_failures.append(Failure(kind, path, 0, status, seconds, rate))

    def clear_failures(self):
        with self.lock:
            self.failures.clear()
            self.random_failures.clear()

    def _take_failure(self, path):
        with self.lock:
            failure = self._take_one_off(path) or self._draw_failure(path)
            if failure is not None:
                self.injected[failure.kind] += 1
            return failure

    def _take_one_off(self, path):
        for failure in self.failures:
            if failure.path in path:
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    def _draw_failure(self, path):
        # One draw per call whatever the rules, so the sequence of failures depends only on the sequence of calls.
        draw = self._rng.random() if self.random_failures else None
        threshold = 0.0
        for failure in self.random_failures:
            if failure.path in path:
                threshold += failure.rate
                if draw < threshold:
                    return failure
        return None

    def calls_to(self, fragment):
        """How many vendor calls so far had `fragment` in their path."""
        with self.lock:
            return sum(1 for _, path in self.calls if fragment in path)

    # --- serving -----------------------------------------------------------------------------------------

    def start(self, host="127.0.0.1", port=0):
        self._stopping.clear()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.simulator = self
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=f"{self.name}-simulator",
                         daemon=True).start()
        return self

    def serve_forever(self, host="127.0.0.1", port=0):
        self._httpd = _Server((host, port), _Handler)
        self._httpd.simulator = self
        self._httpd.serve_forever()

    def stop(self):
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def sleep(self, seconds):
        """Wait, but wake up when the simulator stops (so a stuck 'timeout' never holds a test)."""
        self._stopping.wait(seconds)

    def handle(self, request):
        """Dispatch one request: inspection API, or latency, injected failure and the vendor route."""
        if request.path.startswith(INSPECTION_PREFIX):
            return self._inspection(request)
        with self.lock:
            self.calls.append((request.method, request.path))
        if self.latency_ms:
            self.sleep(self.latency_ms / 1000)
        failure = self._take_failure(request.path)
        if failure is not None:
            if failure.kind == "timeout":
                self.sleep(failure.seconds)
            elif failure.kind == "drop":
                return None
            else:
                return self.failure_response(failure.status)
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                return self.call_route(handler, request, match.groupdict())
        allowed = [method for method, regex, _ in self._routes if regex.match(request.path)]
        return self.not_found(request, allowed)

    # --- what each vendor simulator provides -------------------------------------------------------------

    def call_route(self, handler, request, params):
        """Run a matched route; a simulator overrides this for what all its routes share (authentication)."""
        return handler(request, **params)

    def failure_response(self, status):
        return Response(status, {"error": f"Injected failure {status}"})

    def not_found(self, request, allowed_methods):
        status = 405 if allowed_methods else 404
        return Response(status, {"error": f"No route for {request.method} {request.path}"})

    def snapshot(self):
        """The whole state as JSON-friendly data (GET /_simulator/state)."""
        return {}

    def seed(self, data):
        """Add or update state from JSON (POST /_simulator/seed); idempotent."""

    def reset(self):
        with self.lock:
            self.failures.clear()
            self.random_failures.clear()
            self.injected.clear()
            self.calls.clear()
            self._offset = 0.0

    def set_knobs(self, data):
        """POST /_simulator/knobs: latency_ms, fail {kind, path, times, status, seconds}, fail_randomly {kind, rate,
        seed, path, status, seconds}, advance (seconds)."""
        if "latency_ms" in data:
            self.latency_ms = float(data["latency_ms"])
        if data.get("fail"):
            self.fail(**data["fail"])
        if data.get("fail_randomly"):
            self.fail_randomly(**data["fail_randomly"])
        if data.get("advance"):
            self.advance(float(data["advance"]))

    # --- internals ---------------------------------------------------------------------------------------

    def _collect_routes(self):
        routes = []
        for name, function in inspect.getmembers(type(self), inspect.isfunction):
            if hasattr(function, "route"):
                method, pattern = function.route
                regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
                routes.append((method, regex, getattr(self, name)))
        return routes

    def _inspection(self, request):
        action = request.path[len(INSPECTION_PREFIX):].strip("/")
        payload = request.json
        if payload is None:
            return Response(400, {"error": "The body is not JSON."})
        try:
            if (request.method, action) == ("GET", "state"):
                return Response(200, self.snapshot())
            if (request.method, action) == ("POST", "seed"):
                self.seed(payload)
                return Response(200, {"ok": True})
            if (request.method, action) == ("POST", "knobs"):
                self.set_knobs(payload)
                return Response(200, {"ok": True})
            if (request.method, action) == ("POST", "reset"):
                self.reset()
                return Response(200, {"ok": True})
        except (TypeError, ValueError, KeyError) as exc:
            return Response(400, {"error": f"{type(exc).__name__}: {exc}"})
        return Response(404, {"error": f"No inspection call {request.method} {action}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_connections = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """A client that gave up (its read timeout, a timeout failure injected on purpose) is no simulator error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self):
        """Cut kept-alive connections too: a stopped simulator answers nothing, like a server that went down."""
        with self.connections_lock:
            connections, self.open_connections = list(self.open_connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers: clients reuse connections
    # Send each answer at once: with Nagle's algorithm a keep-alive answer waits ~40 ms for the client's
    # delayed ACK, which would swamp the latency knob and slow every test.
    disable_nagle_algorithm = True

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            host=self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}",
        )
        try:
            response = self.server.simulator.handle(request)
        except Exception as exc:  # a simulator bug must show as a 500, not a hang
            response = Response(500, {"error": f"Simulator error: {type(exc).__name__}: {exc}"})
        if response is None:  # injected "drop": close without answering
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        data, content_type = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args):
        pass
