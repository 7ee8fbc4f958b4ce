"""A PBX-like test module: it remembers, per domain, whether the gateway and the extensions are enabled, so a
test can see what seed 002 warns about (unsuspending with another mode than the one that suspended leaves the
service half-disabled). It also serves call records for scheduled imports (`records` per source kind)."""
from provisioning.modules.base import ActionResult, ModuleError
from provisioning.modules.fake import FakeModule


class PbxModule(FakeModule):
    key = "voip_pbx"
    label = "Test PBX"
    supports_cdrs = True

    pbx: dict = {}  # domain -> {"gateway": bool, "extensions": bool}
    modes: list = []  # (action, domain, mode)
    records: list = []  # what fetch_cdrs returns
    fetches: list = []  # (CdrSourceRef, since)

    @classmethod
    def reset(cls):
        super().reset()
        cls.pbx.clear()
        cls.modes.clear()
        cls.records.clear()
        cls.fetches.clear()

    def create(self, service):
        self.pbx[service.domain] = {"gateway": True, "extensions": True}
        return super().create(service)

    def suspend(self, service, *, reason, mode=""):
        self._record("suspend", service)
        mode = mode or "gateway"
        self.pbx.setdefault(service.domain, {"gateway": True, "extensions": True})[_part(mode)] = False
        self.modes.append(("suspend", service.domain, mode))
        return ActionResult(message=f"Suspended ({mode})", suspend_mode=mode)

    def unsuspend(self, service):
        self._record("unsuspend", service)
        mode = service.suspend_mode or service.product_options.get("auto_suspend_mode") or "gateway"
        self.pbx.setdefault(service.domain, {"gateway": True, "extensions": True})[_part(mode)] = True
        self.modes.append(("unsuspend", service.domain, mode))
        return ActionResult(message=f"Unsuspended ({mode})")

    def fetch_cdrs(self, source, since):
        self.fetches.append((source, since))
        if self.records and self.records[0] == "fail":
            raise ModuleError("The PBX did not answer.")
        return list(self.records)


def _part(mode):
    return "extensions" if mode == "extension" else "gateway"
