from provisioning.modules.polarismail.module import PolarisMailModule

__all__ = ["PolarisMailModule"]
