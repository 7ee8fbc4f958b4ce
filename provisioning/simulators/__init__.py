"""HTTP simulators of the vendors' APIs (see base.py). `SIMULATORS` names each for `manage.py run_simulator`."""

SIMULATORS = {
    "smartermail": "provisioning.simulators.smartermail.SmarterMailSimulator",
    "fusionpbx": "provisioning.simulators.fusionpbx.FusionPbxSimulator",
    "vodia": "provisioning.simulators.vodia.VodiaSimulator",
    "lesnet": "provisioning.simulators.lesnet.LesNetSimulator",
    "polarismail": "provisioning.simulators.polarismail.PolarisMailSimulator",
}
