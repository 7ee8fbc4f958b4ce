"""What the vendor API simulators share (base.py: the HTTP server, routing, knobs; http_basic.py: Basic auth).
Each vendor's simulator lives beside its module, in provisioning/modules/<vendor>/simulator.py; `SIMULATORS`
names each for `manage.py run_simulator` (run.py starts the demo's through that command)."""

SIMULATORS = {
    "smartermail": "provisioning.modules.smartermail.simulator.SmarterMailSimulator",
    "fusionpbx": "provisioning.modules.fusionpbx.simulator.FusionPbxSimulator",
    "vodia": "provisioning.modules.vodia.simulator.VodiaSimulator",
    "lesnet": "provisioning.modules.lesnet.simulator.LesNetSimulator",
    "polarismail": "provisioning.modules.polarismail.simulator.PolarisMailSimulator",
    "vies": "provisioning.simulation.vies.ViesSimulator",  # the EU's VAT-number check (portal/vat.py)
}
