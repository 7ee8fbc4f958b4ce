from provisioning.modules.modoboa.module import ModoboaModule

__all__ = ["ModoboaModule"]
