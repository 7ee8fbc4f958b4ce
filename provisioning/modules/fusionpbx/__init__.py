"""The FusionPBX provider: module.py (the provisioning module), client.py, database.py, eventsocket.py and
switch.py (talking to the PBX), options.py, cdrs.py (the CDR export's parser) and simulator.py (its API's
simulator).

FusionPbxModule (the name settings.PROVISIONING_MODULES gives) is loaded on first use rather than here: cdrs.py
is pure code that voip's CDR uploads and `manage.py rate_cdrs` (and bench/rate_cdrs.py, without Django set up)
import, simulator.py runs without Django too, and importing the package must not pull in the module's
Django-dependent code with them."""

__all__ = ["FusionPbxModule"]


def __getattr__(name):
    if name == "FusionPbxModule":
        # Not at the top: see the docstring (the package stays importable without Django for cdrs.py).
        from provisioning.modules.fusionpbx.module import FusionPbxModule

        return FusionPbxModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
