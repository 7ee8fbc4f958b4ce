from provisioning.modules.vodia.module import VodiaModule

__all__ = ["VodiaModule"]
