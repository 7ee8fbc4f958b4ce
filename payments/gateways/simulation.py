"""What the payment gateways' simulators share on top of the vendor simulators' base
(provisioning/simulation/base.py): the webhooks they send, kept in `outbox` for tests to deliver themselves and
POSTed to `webhook_url` when one is set (the demo), retried as the gateways retry, with the knobs
`lose_webhooks` (the next n are not sent; kept in `lost`) and `duplicate_webhooks` (the next n are sent twice).

A simulator mixes in WebhookOutbox, sets `event_type_field` and `user_agent`, says how a signature becomes
headers (`webhook_headers`) and calls `dispatch(event, payload, signature)`."""
import threading
import urllib.request

RETRY_DELAYS = (0, 1, 3, 9)  # seconds before each try: the gateways retry until the listener answers 2xx


class WebhookOutbox:
    event_type_field = "type"
    user_agent = ""

    def reset_outbox(self):
        self.outbox = []  # (event dict, raw payload bytes, signature), in the order sent
        self.lost = []

    def webhook_headers(self, signature):
        raise NotImplementedError

    def dispatch(self, event, payload, signature):
        with self.lock:
            if self.lose_webhooks > 0:
                self.lose_webhooks -= 1
                self.lost.append((event, payload, signature))
                return
            copies = 1
            if self.duplicate_webhooks > 0:
                self.duplicate_webhooks -= 1
                copies = 2
            for _ in range(copies):
                self.outbox.append((event, payload, signature))
            url = self.webhook_url
        if url:
            headers = {**self.webhook_headers(signature), "Content-Type": "application/json; charset=utf-8",
                       "User-Agent": self.user_agent}
            threading.Thread(target=self._post, args=(url, payload, headers, copies), daemon=True).start()

    def _post(self, url, payload, headers, copies):
        for _ in range(copies):
            for delay in RETRY_DELAYS:
                self.sleep(delay)
                request = urllib.request.Request(url, data=payload, method="POST", headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        if 200 <= answer.status < 300:
                            break
                except OSError:
                    continue

    def events_of(self, event_type):
        with self.lock:
            return [item for item in self.outbox if item[0][self.event_type_field] == event_type]
