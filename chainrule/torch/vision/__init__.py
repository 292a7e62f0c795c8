"""torchvision's names on chainrule (``from chainrule.torch.vision import datasets, transforms``)."""
from chainrule._unsupported import missing
from chainrule.torch.vision import datasets, transforms

__all__ = ["datasets", "transforms"]

__getattr__ = missing(__name__, "torchvision", {"models": "build the network from chainrule.torch.nn layers",
                                               "io": "", "ops": "", "utils": ""})
