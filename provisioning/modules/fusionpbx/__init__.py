from provisioning.modules.fusionpbx.module import FusionPbxModule

__all__ = ["FusionPbxModule"]
