"""What several tests of ``nets`` share."""

import torch

from nets.models import SoftMask
from nets.models.zoo import MODELS, randomise_batch_norms


def zero_part_of_every_mask(model, generator, fraction=0.5):
    """Soft masks in [0.2, 1.2) with ``fraction`` of every mask's entries (chosen at random)
    at 0, in the order of ``model.modules()``."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, SoftMask):
                n = module.weight.numel()
                values = torch.rand(n, generator=generator) + 0.2
                values[torch.randperm(n, generator=generator)[: int(fraction * n)]] = 0.0
                module.weight.copy_(values)


def zoo_model(name, seed):
    """``nets.models.zoo.MODELS[name]`` built after ``torch.manual_seed(seed)``, with random
    BatchNorm parameters and statistics drawn from ``seed``."""
    torch.manual_seed(seed)
    return randomise_batch_norms(MODELS[name](), torch.Generator().manual_seed(seed))
