import argparse

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("torch_pruning")

from nets import MobileNetV2, SoftMask, insert_soft_masks, measure_cost, resnet20  # noqa: E402
from nets.models import BasicBlock  # noqa: E402

from ..nets.helpers import zero_part_of_every_mask  # noqa: E402
from .example_loader import load_example  # noqa: E402


@pytest.fixture(scope="module")
def prune_digits():
    return load_example("prune_digits")


def test_slimming_penalises_the_batchnorms_of_the_cifar_protocol(prune_digits):
    # on ResNet-20 the graph path masks (and slimming penalises) each block's bn1, the layer
    # after which the CIFAR protocol (SPEC 4) puts its mask
    model = resnet20()
    assert prune_digits.masked_batchnorms(model) == [
        f"{name}.bn1" for name, block in model.named_modules() if isinstance(block, BasicBlock)]


@pytest.mark.parametrize("factory", [resnet20, lambda: MobileNetV2(width_mult=0.35)],
                         ids=["resnet20", "mobilenetv2"])
def test_every_method_is_cut_to_the_same_budget(prune_digits, factory):
    torch.manual_seed(0)
    dense = factory().eval()
    dense_macs = measure_cost(dense).macs
    masked = insert_soft_masks(dense, prune_digits.EXAMPLE_INPUT)
    zero_part_of_every_mask(masked, torch.Generator().manual_seed(0))
    masked.eval()
    x = torch.randn(4, 3, 32, 32)

    # no target: exactly the zero masks go, so the eval output does not change
    pruned, plan, zero = prune_digits.cut(masked, "cogd", argparse.Namespace(
        target_reduction=None, slimming_macs=None), dense_macs)
    assert measure_cost(pruned).macs == zero.cost.macs < dense_macs
    assert not any(isinstance(m, SoftMask) for m in pruned.modules())  # masks folded
    with torch.no_grad():
        torch.testing.assert_close(pruned.eval()(x), masked(x), atol=1e-5, rtol=1e-5)

    # a target: masks and BN scales are cut to the same multiply-adds, at most the budget
    budget = 0.55 * dense_macs
    target = argparse.Namespace(target_reduction=0.45, slimming_macs=None)
    for model, method in ((masked, "cogd"), (dense, "slimming")):
        pruned, plan, zero = prune_digits.cut(model, method, target, dense_macs)
        assert 0.5 * dense_macs < measure_cost(pruned).macs <= budget
        assert (zero is None) == (method == "slimming")
