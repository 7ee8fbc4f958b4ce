"""A provisioning module for bench/voip_autosuspend.py: suspend and unsuspend take a fixed latency (as an HTTP
call to a PBX would) and succeed; nothing is stored. Installed through PROVISIONING_MODULES by the benchmark."""
import os
import time

from provisioning.modules.base import ActionResult, ProvisioningModule

LATENCY = float(os.environ.get("BENCH_PROVIDER_LATENCY_MS", "50")) / 1000


class BenchPbxModule(ProvisioningModule):
    key = "benchpbx"
    label = "Benchmark PBX (fixed latency)"

    def _call(self, message):
        time.sleep(LATENCY)
        return ActionResult(message=message)

    def create(self, service):
        return self._call("created")

    def suspend(self, service, *, reason, mode=""):
        result = self._call(f"suspended ({mode or 'gateway'})")
        result.suspend_mode = mode or "gateway"
        return result

    def unsuspend(self, service):
        return self._call(f"unsuspended ({service.suspend_mode})")

    def terminate(self, service, *, delete_data):
        return self._call("terminated")

    def change_password(self, service, *, new_password):
        return self._call("password changed")

    def test_connection(self, server):
        return ActionResult(message="ok")
