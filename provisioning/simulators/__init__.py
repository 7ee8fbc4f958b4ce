"""HTTP simulators of the vendors' APIs (see base.py). `SIMULATORS` names each for `manage.py run_simulator`."""

SIMULATORS = {
    "smartermail": "provisioning.simulators.smartermail.SmarterMailSimulator",
}
