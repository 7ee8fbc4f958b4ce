"""A small client of FreeSWITCH's event socket (mod_event_socket, "inbound" mode, TCP 8021), the switch under
FusionPBX: after the module changes FusionPBX's database it tells the switch here (docs/voip-providers.md §4.2).

The framing: the switch greets with `Content-Type: auth/request`; the client sends `auth <password>` and reads a
`command/reply` whose Reply-Text is `+OK accepted` or `-ERR invalid`; then each `api <command>` is answered by
an `api/response` whose body (Content-Length bytes) is the command's output. Every message is header lines
ended by an empty line. A switch whose ACL refuses the address sends `text/rude-rejection` and hangs up.
"""
import socket
import time

from provisioning.http import note_exchange
from provisioning.modules.base import ModuleError

DEFAULT_PORT = 8021
DEFAULT_PASSWORD = "ClueCon"  # FreeSWITCH's shipped event socket password
MAX_BODY = 10 * 1024 * 1024


class EventSocketError(ModuleError):
    pass


class EventSocket:
    """`with EventSocket(host, port, password) as switch: switch.api("status")`."""

    def __init__(self, host, port=DEFAULT_PORT, password="", *, connect_timeout=5, read_timeout=30):
        self.host, self.port = host, port
        self.password = password or DEFAULT_PASSWORD
        self.where = f"FreeSWITCH's event socket at {host}:{port}"
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.commands = []  # every api command sent, for the result message and tests
        self._socket = self._reader = None

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        try:
            self._socket = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            self._socket.settimeout(self.read_timeout)
            self._reader = self._socket.makefile("rb")
            greeting, body = self._read()
            if greeting.get("Content-Type") == "text/rude-rejection":
                raise EventSocketError(
                    f"{self.where} refused this portal's address ({body.strip() or 'rude rejection'}): add the "
                    "portal's address to the event socket's apply-inbound-acl (docs/voip-providers.md §4.1).",
                    permanent=True)
            if greeting.get("Content-Type") != "auth/request":
                raise EventSocketError(f"{self.where} did not greet as an event socket "
                                       f"({greeting.get('Content-Type') or 'no Content-Type'}): is this the right port?",
                                       permanent=True)
            self._send(f"auth {self.password}")
            reply, _ = self._read()
            if not reply.get("Reply-Text", "").startswith("+OK"):
                raise EventSocketError(f"{self.where} refused the password ({reply.get('Reply-Text') or 'no reply'}). "
                                       "Check event_socket_password in the server's settings (FreeSWITCH's "
                                       "event_socket.conf.xml).", permanent=True)
        except EventSocketError:
            self.close()
            raise
        except (OSError, ValueError) as exc:
            self.close()
            raise EventSocketError(f"Could not talk to {self.where} ({_reason(exc)}); it will be retried.") from exc
        return self

    def api(self, command):
        """Run one API command; returns its output (stripped). Noted for the module call's record."""
        if "\n" in command or "\r" in command:
            raise ValueError("An event socket command is one line.")
        started, reply, error = time.monotonic(), "", ""
        try:
            reply = self._api(command)
            return reply
        except EventSocketError as exc:
            error = str(exc)
            raise
        finally:
            note_exchange({"method": "ESL", "url": f"esl://{self.host}:{self.port}", "body": f"api {command}",
                           "status": None, "reply": reply[:200], "ms": int((time.monotonic() - started) * 1000),
                           **({"error": error} if error else {})})

    def _api(self, command):
        try:
            self._send(f"api {command}")
            while True:
                headers, body = self._read()
                kind = headers.get("Content-Type")
                if kind == "api/response":
                    self.commands.append(command)
                    return body.strip()
                if kind == "text/disconnect-notice":
                    raise EventSocketError(f"{self.where} hung up during `{command}`; it will be retried.")
        except EventSocketError:
            raise
        except (OSError, ValueError) as exc:
            raise EventSocketError(f"{self.where} failed during `{command}` ({_reason(exc)}); it will be retried.") \
                from exc

    def close(self):
        if self._socket is None:
            return
        try:
            self._socket.sendall(b"exit\n\n")
        except OSError:
            pass
        for closing in (self._reader, self._socket):
            try:
                closing.close()
            except OSError:
                pass
        self._socket = self._reader = None

    def _send(self, line):
        self._socket.sendall(line.encode() + b"\n\n")

    def _read(self):
        """One message: (headers, body text)."""
        headers = {}
        while True:
            line = self._reader.readline(65536)
            if not line:
                raise ConnectionError("the connection closed")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if headers:
                    break
                continue  # blank lines between messages
            name, _, value = text.partition(":")
            headers[name.strip()] = value.strip()
        length = int(headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"Content-Length {length} is out of range")
        body = self._reader.read(length) if length else b""
        if len(body) < length:
            raise ConnectionError("the connection closed in the middle of an answer")
        return headers, body.decode("utf-8", "replace")


def _reason(exc):
    if isinstance(exc, socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
