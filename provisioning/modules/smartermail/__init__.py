from provisioning.modules.smartermail.module import SmarterMailModule

__all__ = ["SmarterMailModule"]
