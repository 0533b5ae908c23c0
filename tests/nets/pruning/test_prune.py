import math
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
tp = pytest.importorskip("torch_pruning")

from nets import (  # noqa: E402
    ScoreImportance,
    SoftMaskImportance,
    fold_soft_masks,
    measure_cost,
    prune,
    resnet18,
    resnet20,
)
from nets.cost import count_parameters  # noqa: E402
from nets.models import BasicBlock  # noqa: E402
from nets.models.zoo import MODELS, VGGStyle, randomise_batch_norms  # noqa: E402

from ..helpers import zero_part_of_every_mask, zoo_model  # noqa: E402

IMAGENET = (1, 3, 224, 224)


def _modes(model):
    return {name: module.training for name, module in model.named_modules()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_prune_to_60_percent_of_macs_keeps_output_shape_and_modes(name):
    model = zoo_model(name, 0).train()
    next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)).eval()  # mixed
    modes = _modes(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dense = measure_cost(model, torch.zeros(IMAGENET)).macs
    target = int(0.6 * dense)
    result = prune(model, torch.zeros(IMAGENET), target_macs=target)
    assert _modes(result.model) == modes and _modes(model) == modes
    assert result.original_cost.macs == dense
    assert result.cost == measure_cost(result.model, torch.zeros(IMAGENET))
    assert result.cost.macs <= target
    assert result.cost.macs > 0.35 * dense  # the greedy stops near the target, not far below
    assert count_parameters(result.model) < count_parameters(model)
    for key, value in model.state_dict().items():  # the input model is not modified
        assert torch.equal(value, before[key]), key
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert result.model.eval()(x).shape == model.eval()(x).shape


def test_ratio_is_the_removed_fraction_of_multiply_adds_and_frozen_weights_stay_frozen():
    model = zoo_model("vgg_bn", 3)
    model.features[4].weight.requires_grad_(False)
    example = torch.zeros(1, 3, 64, 64)
    dense = measure_cost(model, example).macs
    by_ratio = prune(model, example, ratio=0.4)
    by_target = prune(model, example, target_macs=math.floor(0.6 * dense))
    assert by_ratio.plan == by_target.plan
    assert by_ratio.cost.macs <= 0.6 * dense
    assert by_ratio.model.features[4].out_channels < 16  # pruned, and still frozen
    assert {n: p.requires_grad for n, p in by_ratio.model.named_parameters()} \
        == {n: p.requires_grad for n, p in model.named_parameters()}


def test_lowest_bn_scales_go_first_over_all_groups():
    # VGG: one BN per conv group, so the default score of a channel is exactly its |gamma|
    model = zoo_model("vgg_bn", 4)
    result = prune(model, torch.zeros(1, 3, 64, 64), ratio=0.5)
    modules = dict(model.named_modules())
    removed, kept = [], []
    for name, channels in result.plan.keep.items():
        if not name.startswith("features"):
            continue  # the hidden linear layers have no BN: not scored, not pruned
        bn = modules[name[: -len(name.split(".")[-1])] + str(int(name.split(".")[-1]) + 1)]
        scales = bn.weight.detach().abs()
        removed += [float(s) for c, s in enumerate(scales) if c not in channels]
        kept += [float(scales[c]) for c in channels] if len(channels) > 1 else []
    assert removed and max(removed) <= min(kept)
    assert "classifier.0" not in result.plan.keep
    assert result.model.classifier[0].out_features == 64


def test_scores_by_module_name_and_ignored_layers():
    model = zoo_model("vgg_bn", 5)
    example = torch.zeros(1, 3, 64, 64)
    dense = measure_cost(model, example).macs
    # one hidden unit costs 128 + 64 multiply-adds (its row of classifier.0, column of .3)
    result = prune(model, example,
                   importance=ScoreImportance(model, {"classifier.0": torch.arange(64.0)}),
                   target_macs=dense - 1000)
    assert set(result.plan.keep) == {"classifier.0"}  # only scored groups
    assert result.plan.keep["classifier.0"] == tuple(range(6, 64))  # the lowest scores went
    assert result.cost.macs == dense - 6 * 192
    ignoring = prune(model, example, ratio=0.5, ignored_layers=[model.features[0]])
    assert "features.0" not in ignoring.plan.keep and "features.4" in ignoring.plan.keep
    assert ignoring.model.features[0].out_channels == 8
    with pytest.raises(ValueError, match="features.0"):  # scores for an ignored layer
        prune(model, example, importance=ScoreImportance(model, {"features.0": torch.ones(8)}),
              ignored_layers=[model.features[0]])


def test_channel_padding_shortcuts_keep_their_channels():
    # option-A shortcuts pad channels, which the dependency graph takes for element-wise:
    # those groups would couple the wrong channels, so only the blocks' inner channels go
    model = resnet20()
    result = prune(model, torch.zeros(1, 3, 32, 32), ratio=0.3)
    blocks = [f"stages.{s}.{b}.conv1" for s in range(3) for b in range(3)]
    assert sorted(result.plan.keep) == sorted(blocks)
    for block, pruned in zip(model.blocks, result.model.blocks, strict=True):
        assert pruned.conv2.out_channels == block.conv2.out_channels
    assert result.cost.macs <= 0.7 * result.original_cost.macs


def test_torch_prunings_own_importances_rank_the_channels():
    model = zoo_model("vgg_bn", 11)
    example = torch.zeros(1, 3, 64, 64)
    # the l1 norm of each conv's filters: the lowest go first, over all groups
    first = tp.importance.MagnitudeImportance(p=1, normalizer=None, group_reduction="first")
    result = prune(model, example, importance=first, ratio=0.4)
    removed, kept = [], []
    for name, channels in result.plan.keep.items():
        norms = model.get_submodule(name).weight.detach().abs().flatten(1).sum(1)
        removed += [float(v) for c, v in enumerate(norms) if c not in channels]
        kept += [float(norms[c]) for c in channels] if len(channels) > 1 else []
    assert removed and max(removed) <= min(kept)
    assert result.cost.macs <= 0.6 * result.original_cost.macs
    # the default without masks is Torch-Pruning's BN scale importance, unnormalised
    bn_scales = tp.importance.BNScaleImportance(normalizer=None)
    assert prune(model, example, ratio=0.4, importance=bn_scales).plan \
        == prune(model, example, ratio=0.4).plan
    random = prune(model, example, importance=tp.importance.RandomImportance(), ratio=0.4)
    assert random.cost.macs <= 0.6 * random.original_cost.macs


# --- the CIFAR protocol (SPEC 4): a soft mask after the first conv of every residual block ---


def _masked_resnet(factory, seed, fraction=0.5):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = randomise_batch_norms(factory(soft_mask=True), generator).eval()
    zero_part_of_every_mask(model, generator, fraction)
    return model, generator


def test_removing_zero_mask_channels_of_the_blocks_preserves_outputs_and_drops_parameters():
    model, generator = _masked_resnet(resnet20, 0)
    example = torch.zeros(1, 3, 32, 32)
    result = prune(model, example)
    pruned, folded = result.model.eval(), fold_soft_masks(result.model).eval()
    x = torch.randn(4, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert count_parameters(pruned) < count_parameters(model)
    assert result.cost.macs < result.original_cost.macs == measure_cost(model).macs
    blocks = [(name, m) for name, m in model.named_modules() if isinstance(m, BasicBlock)]
    assert sorted(result.plan.keep) == sorted(f"{name}.conv1" for name, _ in blocks)
    for name, block in blocks:
        kept = result.plan.keep[f"{name}.conv1"]
        assert kept == tuple(int(c) for c in torch.nonzero(block.mask.weight).flatten())
        cut, plain = pruned.get_submodule(name), folded.get_submodule(name)
        assert cut.conv1.weight.shape[0] == len(kept)
        assert cut.bn1.running_var.shape == (len(kept),)
        assert cut.conv2.weight.shape[1] == len(kept)
        assert torch.all(cut.mask.weight > 0)  # the kept masks, sliced
        assert plain.mask is None  # folded into conv2
    assert measure_cost(folded).macs == result.cost.macs  # the masks cost no multiply-adds


def test_removal_leaves_the_input_model_untouched_and_prunes_option_b_resnet():
    model, generator = _masked_resnet(resnet18, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = prune(model, torch.zeros(1, 3, 32, 32))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    x = torch.randn(1, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(result.model.eval()(x), model(x), rtol=1e-4, atol=1e-5)
    assert count_parameters(result.model) < count_parameters(model)
    # the residual groups (conv2, the 1x1 shortcuts) hold no mask: only the blocks' inner
    # channels go
    assert all(name.endswith(".conv1") for name in result.plan.keep)
    for block, pruned in zip(model.blocks, result.model.blocks, strict=True):
        assert pruned.conv2.out_channels == block.conv2.out_channels


def test_fully_masked_block_keeps_one_channel_and_outputs():
    model, generator = _masked_resnet(resnet20, 3, fraction=0.0)
    with torch.no_grad():
        model.stages[1][1].mask.weight.zero_()
    result = prune(model, torch.zeros(1, 3, 32, 32))
    assert len(result.plan.keep["stages.1.1.conv1"]) == 1
    x = torch.randn(2, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(result.model.eval()(x), model(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fold_soft_masks(result.model).eval()(x), model(x),
                                   rtol=1e-5, atol=1e-5)


def test_pruned_model_trains_with_a_new_optimizer():
    model, generator = _masked_resnet(resnet20, 4)
    model.train()
    pruned = prune(model, torch.zeros(1, 3, 32, 32)).model
    optimizer = torch.optim.SGD(pruned.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 32, 32, generator=generator), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(pruned(x), y)
    loss.backward()
    before = [p.detach().clone() for p in pruned.parameters()]
    original = {key: value.clone() for key, value in model.state_dict().items()}
    optimizer.step()
    assert all(p.grad is not None for p in pruned.parameters())
    # the step moves every pruned parameter with a non-zero gradient, and only the pruned model
    moved = [not torch.equal(p.detach(), b)
             for p, b in zip(pruned.parameters(), before, strict=True)]
    assert all(m for m, p in zip(moved, pruned.parameters(), strict=True) if p.grad.any())
    assert any(moved)
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key]), key


def test_slimming_meets_the_macs_target_within_one_channel_removing_lowest_scales():
    torch.manual_seed(6)
    model = randomise_batch_norms(resnet20(), torch.Generator().manual_seed(6))
    target = int(0.6 * measure_cost(model).macs)
    result = prune(model, torch.zeros(1, 3, 32, 32), target_macs=target)
    assert result.cost.macs <= target
    assert result.cost.macs > target - 16 * 32 * 32 * 9 * 2  # stops within one channel's cost
    scales = {f"{name}.conv1": block.bn1.weight.detach().abs()
              for name, block in model.named_modules() if isinstance(block, BasicBlock)}
    threshold = max(float(s) for name, values in scales.items()
                    for c, s in enumerate(values) if c not in result.plan.keep[name])
    for name, values in scales.items():
        for c in result.plan.keep[name]:
            assert float(values[c]) >= threshold or len(result.plan.keep[name]) == 1


def test_mask_plan_for_macs_stops_at_the_target_keeping_zero_masks_beyond_it():
    # more exactly-zero masks than the budget needs: only as many as needed go (zero masks
    # first), and the cut model still equals the masked one (kept zeros fold to 0)
    torch.manual_seed(7)
    model = randomise_batch_norms(resnet20(soft_mask=True), torch.Generator().manual_seed(7))
    model.eval()
    with torch.no_grad():
        for block in model.blocks:
            block.mask.weight.uniform_(0.5, 1.0)
            block.mask.weight[: block.mask.weight.numel() * 3 // 4] = 0.0
    example = torch.zeros(1, 3, 32, 32)
    zero_rule = prune(model, example)
    target = int(0.8 * zero_rule.original_cost.macs)
    assert zero_rule.cost.macs < target
    result = prune(model, example, target_macs=target)
    assert target - 16 * 32 * 32 * 9 * 2 < result.cost.macs <= target
    for name, block in model.named_modules():
        if isinstance(block, BasicBlock):
            removed = set(range(block.mask.weight.numel())) - set(result.plan.keep[f"{name}.conv1"])
            assert all(float(block.mask.weight.detach()[c]) == 0 for c in removed)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(fold_soft_masks(result.model).eval()(x), model(x),
                                   atol=1e-4, rtol=1e-4)
    assert prune(model, example, target_macs=target, importance=SoftMaskImportance()).plan \
        == result.plan


def test_import_nets_works_without_torch_pruning_and_prune_names_the_extra():
    # `from nets import *` and every name of `nets.__all__` import; the calls that trace a
    # model raise an ImportError naming the extra
    code = ("import sys; sys.modules['torch_pruning'] = None\n"
            "import torch, nets\n"
            "from nets import *\n"
            "assert all(name in globals() for name in nets.__all__)\n"
            "model, example = nets.resnet20(), torch.zeros(1, 3, 32, 32)\n"
            "for call in (lambda: nets.prune(model, example),\n"
            "             lambda: nets.apply_plan(model, example, nets.PruningPlan()),\n"
            "             lambda: nets.insert_soft_masks(model, example),\n"
            "             lambda: nets.soft_mask_pairs(model, example)):\n"
            "    try:\n        call()\n    except ImportError as error:\n        print(error)\n"
            "    else:\n        raise AssertionError('no ImportError')\n"
            "print(nets.fold_soft_masks(nets.resnet20(soft_mask=True)).blocks[0].mask)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == 5 and out[-1] == "None"
    assert all("torch-pruning" in line and "`nets` extra" in line for line in out[:4])


def test_bad_arguments_raise_errors_naming_them():
    model = VGGStyle()
    example = torch.zeros(1, 3, 64, 64)
    with pytest.raises(ValueError, match="target_macs"):
        prune(model, example, target_macs=10, ratio=0.5)
    with pytest.raises(ValueError, match="ratio"):
        prune(model, example, ratio=1.0)
    with pytest.raises(ValueError, match="target_macs"):
        prune(model, example, target_macs=-1)
    with pytest.raises(ValueError, match="target_macs"):
        prune(model, example, target_macs=1000)  # below one channel per group
    with pytest.raises(ValueError, match="scores"):
        ScoreImportance(model, {"nope": torch.ones(8)})
    with pytest.raises(ValueError, match=r"scores\['features.0'\]"):
        ScoreImportance(model, {"features.0": torch.ones(7)})
    with pytest.raises(TypeError, match="scores"):
        ScoreImportance(model, [torch.ones(8)])
    with pytest.raises(ValueError, match="classifier.6"):  # the output layer: never pruned
        prune(model, example, importance=ScoreImportance(model, {"classifier.6": torch.ones(10)}))
    with pytest.raises(ValueError, match="features.0"):  # the importance of another model
        prune(model, example, importance=ScoreImportance(VGGStyle(), {"features.0": torch.ones(8)}))
    with pytest.raises(TypeError, match="importance"):
        prune(model, example, importance={"features.0": torch.ones(8)})
    with pytest.raises(ValueError, match="`importance` must return"):
        prune(model, example, importance=lambda group: torch.ones(3))
    with pytest.raises(ValueError, match="ignored_layers"):
        prune(model, example, ignored_layers=[torch.nn.Conv2d(3, 8, 3)])
    with pytest.raises(ValueError, match="example_inputs"):
        prune(model, torch.zeros(1, 5, 64, 64))
    with pytest.raises(TypeError, match="example_inputs"):
        prune(model, [example])
    with pytest.raises(TypeError, match="model"):
        prune("model", example)
