from provisioning.modules.lesnet.module import LesNetModule

__all__ = ["LesNetModule"]
