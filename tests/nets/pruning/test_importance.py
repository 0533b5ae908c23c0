import pytest

torch = pytest.importorskip("torch")
tp = pytest.importorskip("torch_pruning")

from nets import (  # noqa: E402
    CoGD,
    CoGDImportance,
    SoftMask,
    SoftMaskFISTA,
    SoftMaskImportance,
    conv_bn_pairs,
    insert_soft_masks,
    prune,
    resnet20,
    soft_mask_pairs,
)
from nets.pruning.graph import dependency_graph  # noqa: E402
from nets.pruning.mask_pruner import SoftMaskPruner  # noqa: E402

from ..helpers import zero_part_of_every_mask, zoo_model  # noqa: E402


@pytest.mark.filterwarnings("ignore:nets.insert_soft_masks")  # the mask before the flattening
def test_importances_drive_torch_prunings_own_pruner():
    generator = torch.Generator().manual_seed(8)
    example = torch.zeros(1, 3, 64, 64)
    masked = insert_soft_masks(zoo_model("vgg_bn", 8), example).eval()
    zero_part_of_every_mask(masked, generator)  # even widths: exactly half of every group
    x = torch.randn(2, 3, 64, 64, generator=generator)
    with torch.no_grad():
        expected = masked(x)
    pruner = tp.pruner.MetaPruner(
        masked, example, importance=SoftMaskImportance(), pruning_ratio=0.5,
        ignored_layers=[masked.classifier[6]],
        customized_pruners={SoftMask: SoftMaskPruner()})
    pruner.step()
    assert masked.features[0].out_channels == 4
    with torch.no_grad():
        torch.testing.assert_close(masked(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:nets.insert_soft_masks")
def test_cogd_importance_scores_the_coupled_tensors():
    model = zoo_model("vgg_bn", 9)
    example = torch.zeros(1, 3, 64, 64)
    backtrack = CoGD(torch.optim.SGD(model.parameters(), lr=0.1), conv_bn_pairs(model))
    graph = dependency_graph(model, example)
    group = graph.get_pruning_group(model.features[4], tp.prune_conv_out_channels,
                                    list(range(16)))
    scores = CoGDImportance(backtrack)(group)
    torch.testing.assert_close(scores, model.features[5].weight.detach().abs().double())
    hidden = graph.get_pruning_group(model.classifier[0], tp.prune_linear_out_channels,
                                     list(range(64)))
    assert CoGDImportance(backtrack)(hidden) is None  # no coupled tensor: left alone
    masked = insert_soft_masks(model, example)
    revival = CoGD(SoftMaskFISTA([m.weight for m in masked.modules()
                                  if isinstance(m, SoftMask)], lr=0.1),
                   soft_mask_pairs(masked, example), rule="revival")
    with torch.no_grad():  # behind the first ReLU and max-pool, in front of the second conv
        masked.features[4].input_mask.weight.copy_(torch.linspace(0, 1, 8))
    graph = dependency_graph(masked, example)
    group = graph.get_pruning_group(masked.features[0], tp.prune_conv_out_channels,
                                    list(range(8)))
    expected = torch.linspace(0, 1, 8).double()
    torch.testing.assert_close(CoGDImportance(revival)(group), expected)
    torch.testing.assert_close(SoftMaskImportance()(group), expected)
    with pytest.raises(TypeError, match="optimizer"):
        CoGDImportance(torch.optim.SGD(model.parameters(), lr=0.1))


def test_soft_mask_importance_is_the_absolute_mask_of_the_masked_blocks_only():
    example = torch.zeros(1, 3, 32, 32)
    model = resnet20(soft_mask=True)
    with torch.no_grad():
        model.stages[0][0].mask.weight[:2] = torch.tensor([-0.5, 0.0])
    graph = dependency_graph(model, example)
    block = graph.get_pruning_group(model.stages[0][0].conv1, tp.prune_conv_out_channels,
                                    list(range(16)))
    assert SoftMaskImportance()(block)[:3].tolist() == [0.5, 0.0, 1.0]
    plain = resnet20()
    graph = dependency_graph(plain, example)
    block = graph.get_pruning_group(plain.stages[0][0].conv1, tp.prune_conv_out_channels,
                                    list(range(16)))
    assert SoftMaskImportance()(block) is None  # no mask: left alone


def test_prune_evaluates_the_importance_on_the_model_it_is_given():
    # CoGDImportance finds its optimizer's tensors only in the model they belong to: prune
    # scores that model, then cuts a copy
    model = zoo_model("vgg_bn", 12)
    example = torch.zeros(1, 3, 64, 64)
    backtrack = CoGD(torch.optim.SGD(model.parameters(), lr=0.1), conv_bn_pairs(model))
    by_cogd = prune(model, example, importance=CoGDImportance(backtrack), ratio=0.4)
    assert by_cogd.plan == prune(model, example, ratio=0.4).plan  # one BN per group: |gamma|
    assert by_cogd.plan.keep and by_cogd.cost.macs <= 0.6 * by_cogd.original_cost.macs
    assert by_cogd.model.features[1].weight is not model.features[1].weight
