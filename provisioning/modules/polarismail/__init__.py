"""The PolarisMail provider: module.py (the provisioning module), client.py, options.py, and simulator.py (its API's
simulator, for tests, benchmarks and the demo; docs/provisioning.md, "Adding a provider").

PolarisMailModule (the name settings.PROVISIONING_MODULES gives) is loaded on first use rather than here: simulator.py
is pure code (run without Django set up, like the other simulators), and importing the package must not pull in
the module's Django-dependent code with it."""

__all__ = ["PolarisMailModule"]


def __getattr__(name):
    if name == "PolarisMailModule":
        # Not at the top: see the docstring (the package stays importable without Django for simulator.py).
        from provisioning.modules.polarismail.module import PolarisMailModule

        return PolarisMailModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
