"""Running one module call and keeping its record (ModuleCall): duration, the HTTP exchanges with secrets
redacted, the outcome. The lifecycle functions, the usage update, SSO and "Test connection" all go through
`call_module`, so every provider call is logged the same way."""
import time

from provisioning.http import recording
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError


def call_module(*, module_key, action, fn, service=None, server=None, args=None, queue_for_retry=False):
    """Run `fn()` (one module method) and return (unsaved ModuleCall, result or None, ModuleError or None).
    The caller saves the record when it fits its transaction. `server` defaults to the service's, read after
    `fn` ran (Create may have just picked it). A failed lifecycle action is queued for retry."""
    started = time.monotonic()
    result = error = None
    with recording() as exchanges:
        try:
            result = fn()
        except ModuleError as exc:
            error = exc
    call = ModuleCall(
        service=service,
        server=server if server is not None else getattr(service, "server", None),
        module=module_key,
        action=action,
        request={"domain": service.domain if service else "", "args": args or {}, "http": list(exchanges)},
        response_summary=(getattr(result, "message", "") or "")[:2000],
        success=error is None,
        error=error.message[:2000] if error else "",
        permanent_error=bool(error and error.permanent),
        duration_ms=int((time.monotonic() - started) * 1000),
        awaiting_retry=error is not None and queue_for_retry,
    )
    return call, result, error
