"""An in-memory provisioning module, as Django's locmem e-mail backend: it keeps domains in a dict, counts
calls and can be told to fail. Development and tests only (never installed in production)."""
import threading
from dataclasses import dataclass

from provisioning.modules.base import ActionResult, ModuleError, ProvisioningModule


@dataclass
class FakeDomain:
    domain: str
    status: str = "active"
    password: str = ""
    files_kept: bool = False
    options: dict = None  # the product and configurable options of the last Create or Change package


class FakeModule(ProvisioningModule):
    key = "fake"
    label = "In-memory test module"

    _lock = threading.Lock()
    domains: dict = {}
    calls: list = []
    _failures: dict = {}

    @classmethod
    def reset(cls):
        with cls._lock:
            cls.domains.clear()
            cls.calls.clear()
            cls._failures.clear()

    @classmethod
    def fail_next(cls, action, message="Injected failure", *, permanent=False, times=1):
        cls._failures[action] = (message, permanent, times)

    def _record(self, action, service):
        with self._lock:
            self.calls.append((action, service.domain))
            failure = self._failures.get(action)
            if failure:
                message, permanent, times = failure
                if times <= 1:
                    del self._failures[action]
                else:
                    self._failures[action] = (message, permanent, times - 1)
                raise ModuleError(message, permanent=permanent)

    def create(self, service):
        self._record("create", service)
        if service.domain in self.domains and self.domains[service.domain].status != "deleted":
            raise ModuleError(f"The domain {service.domain} already exists on the server.", permanent=True)
        self.domains[service.domain] = FakeDomain(service.domain, password=service.password,
                                                  options=_options(service))
        return ActionResult(message=f"Created {service.domain}", module_data={"fake_id": service.domain})

    def suspend(self, service, *, reason, mode=""):
        self._record("suspend", service)
        # "Already suspended" is success: the goal state holds.
        self._existing(service).status = "suspended"
        return ActionResult(message=f"Suspended {service.domain}", suspend_mode=mode or "domain")

    def unsuspend(self, service):
        self._record("unsuspend", service)
        self._existing(service).status = "active"
        return ActionResult(message=f"Unsuspended {service.domain}")

    def terminate(self, service, *, delete_data):
        self._record("terminate", service)
        domain = self.domains.get(service.domain)
        if domain is not None:  # already gone counts as terminated
            domain.status = "deleted"
            domain.files_kept = not delete_data
        return ActionResult(message=f"Terminated {service.domain}")

    def change_password(self, service, *, new_password):
        self._record("change_password", service)
        self._existing(service).password = new_password
        return ActionResult(message="Password changed")

    def change_package(self, service):
        self._record("change_package", service)
        self._existing(service).options = _options(service)
        return ActionResult(message=f"Package of {service.domain} changed")

    def test_connection(self, server):
        return ActionResult(message="The in-memory module is always reachable.")

    def _existing(self, service):
        domain = self.domains.get(service.domain)
        if domain is None or domain.status == "deleted":
            raise ModuleError(f"The domain {service.domain} does not exist on the server.", permanent=True)
        return domain


def _options(service):
    return {"product": dict(service.product_options), "config": dict(service.config_options)}
