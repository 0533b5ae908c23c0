import io
import math
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
tp = pytest.importorskip("torch_pruning")

from nets import (  # noqa: E402
    CoGD,
    MobileNetV2,
    SoftMask,
    SoftMaskFISTA,
    conv_bn_pairs,
    mask_pairs,
    measure_cost,
    plan_from_masks,
    prune,
    remove_channels,
    resnet20,
)
from nets.cost import count_parameters  # noqa: E402
from nets.graph_pruning import (  # noqa: E402
    SoftMaskPruner,
    apply_plan,
    dependency_graph,
    fold_soft_masks,
    insert_soft_masks,
    soft_mask_pairs,
)
from nets.importance import CoGDImportance, SoftMaskImportance  # noqa: E402
from nets.models import MaskedLayer  # noqa: E402
from nets.models.zoo import MODELS, VGGStyle, randomise_batch_norms  # noqa: E402
from nets.pruning import PruningPlan  # noqa: E402

from .helpers import zero_part_of_every_mask, zoo_model  # noqa: E402

IMAGENET = (1, 3, 224, 224)


def _modes(model):
    return {name: module.training for name, module in model.named_modules()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_prune_to_60_percent_of_macs_keeps_output_shape_and_modes(name):
    model = zoo_model(name, 0).train()
    next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)).eval()  # mixed
    modes = _modes(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dense = measure_cost(model, input_size=IMAGENET).macs
    target = int(0.6 * dense)
    result = prune(model, torch.zeros(IMAGENET), target_macs=target)
    assert _modes(result.model) == modes and _modes(model) == modes
    assert result.original_cost.macs == dense
    assert result.cost == measure_cost(result.model, input_size=IMAGENET)
    assert result.cost.macs <= target
    assert result.cost.macs > 0.35 * dense  # the greedy stops near the target, not far below
    assert count_parameters(result.model) < count_parameters(model)
    for key, value in model.state_dict().items():  # the input model is not modified
        assert torch.equal(value, before[key]), key
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert result.model.eval()(x).shape == model.eval()(x).shape


@pytest.mark.parametrize("name", sorted(MODELS))
def test_removing_zero_mask_channels_leaves_the_eval_output_unchanged(name):
    generator = torch.Generator().manual_seed(2)
    model = zoo_model(name, 2)
    masked = insert_soft_masks(model, torch.zeros(IMAGENET)).eval()
    x = torch.randn(2, 3, 224, 224, generator=generator)
    with torch.no_grad():  # masks start at ones: the masked copy computes the model
        torch.testing.assert_close(masked(x), model.eval()(x), rtol=1e-5, atol=1e-6)
    zero_part_of_every_mask(masked, generator)
    result = prune(masked, torch.zeros(IMAGENET))
    folded = fold_soft_masks(result.model)
    with torch.no_grad():
        expected = masked(x)
        torch.testing.assert_close(result.model(x), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-6)
    assert result.cost.macs < result.original_cost.macs
    assert not any(isinstance(m, MaskedLayer | SoftMask) for m in folded.modules())
    # every remaining mask value is non-zero unless its whole group was zero (one channel kept)
    kept_zero = sum(int((m.weight == 0).sum()) for m in result.model.modules()
                    if isinstance(m, SoftMask))
    assert kept_zero < sum(int((m.weight == 0).sum()) for m in masked.modules()
                           if isinstance(m, SoftMask))


def test_ratio_is_the_removed_fraction_of_multiply_adds_and_frozen_weights_stay_frozen():
    model = zoo_model("vgg_bn", 3)
    model.features[4].weight.requires_grad_(False)
    example = torch.zeros(1, 3, 64, 64)
    dense = measure_cost(model, input_size=(1, 3, 64, 64)).macs
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
    dense = measure_cost(model, input_size=(1, 3, 64, 64)).macs
    # one hidden unit costs 128 + 64 multiply-adds (its row of classifier.0, column of .3)
    result = prune(model, example, scores={"classifier.0": torch.arange(64.0)},
                   target_macs=dense - 1000)
    assert set(result.plan.keep) == {"classifier.0"}  # only scored groups
    assert result.plan.keep["classifier.0"] == tuple(range(6, 64))  # the lowest scores went
    assert result.cost.macs == dense - 6 * 192
    ignoring = prune(model, example, ratio=0.5, ignored_layers=[model.features[0]])
    assert "features.0" not in ignoring.plan.keep and "features.4" in ignoring.plan.keep
    assert ignoring.model.features[0].out_channels == 8
    with pytest.raises(ValueError, match="features.0"):  # scores for an ignored layer
        prune(model, example, scores={"features.0": torch.ones(8)},
              ignored_layers=[model.features[0]])


def test_cifar_resnet_masks_remove_as_remove_channels_does():
    generator = torch.Generator().manual_seed(6)
    torch.manual_seed(6)
    model = randomise_batch_norms(resnet20(soft_mask=True), generator).eval()
    with torch.no_grad():
        for x, _ in mask_pairs(model):
            x.copy_((torch.rand(x.shape, generator=generator) > 0.5) * 1.0)
    example = torch.zeros(1, 3, 32, 32)
    pairs = soft_mask_pairs(model, example)
    assert [(a is c, b is d) for (a, b), (c, d) in zip(pairs, mask_pairs(model), strict=True)] \
        == [(True, True)] * 9
    result = prune(model, example)
    reference = remove_channels(model, plan_from_masks(model), fold_masks=False)
    assert {name[: -len(".conv1")]: keep for name, keep in result.plan.keep.items()} \
        == plan_from_masks(model).keep
    x = torch.randn(2, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(result.model(x), model(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(result.model(x), reference(x), rtol=1e-5, atol=1e-6)
    assert result.cost == measure_cost(reference)


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


def test_import_nets_works_without_torch_pruning_and_prune_names_the_extra():
    code = ("import sys; sys.modules['torch_pruning'] = None\n"
            "import nets\n"
            "try:\n    nets.prune\nexcept ImportError as error:\n    print(error)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "torch-pruning" in out and "nets" in out


def test_masks_trained_with_fista_and_cogd_revival_then_removed():
    generator = torch.Generator().manual_seed(7)
    model = zoo_model("mobilenet_v2", 7)
    example = torch.zeros(1, 3, 64, 64)
    masked = insert_soft_masks(model, example)
    masks = [m.weight for m in masked.modules() if isinstance(m, SoftMask)]
    pairs = soft_mask_pairs(masked, example)
    assert pairs and all(x.shape[0] == w.shape[1] for x, w in pairs)
    weights = [p for p in masked.parameters() if all(p is not m for m in masks)]
    weight_optimizer = torch.optim.SGD(weights, lr=0.01)
    mask_optimizer = CoGD(SoftMaskFISTA(masks, lr=0.5, sparsity_weight=0.5), pairs,
                          rule="revival")
    for epoch in range(2):
        for _ in range(3):
            x = torch.randn(4, 3, 64, 64, generator=generator)
            y = torch.randint(0, 10, (4,), generator=generator)
            loss = torch.nn.functional.cross_entropy(masked(x), y)
            weight_optimizer.zero_grad()
            mask_optimizer.zero_grad()
            loss.backward()
            weight_optimizer.step()
            mask_optimizer.step()
        mask_optimizer.couple()
    assert sum(int((m == 0).sum()) for m in masks) > 0
    masked.eval()
    result = prune(masked, example)
    assert result.cost.macs < result.original_cost.macs
    assert result.model.training is False
    x = torch.randn(2, 3, 64, 64, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(fold_soft_masks(result.model)(x), masked(x),
                                   rtol=1e-5, atol=1e-6)


def test_a_mask_read_by_a_depthwise_conv_is_paired_with_its_filters_and_revived():
    # the stem's channels are read only by the first block's depthwise conv (expansion 1)
    torch.manual_seed(0)
    example = torch.zeros(1, 3, 32, 32)
    masked = insert_soft_masks(MobileNetV2(width_mult=0.35), example)
    stem_mask = masked.layers[0][1].mask.weight
    depthwise = masked.layers[1].conv[0][0]
    assert depthwise.groups == depthwise.in_channels == 16
    partners = {id(x): w for x, w in soft_mask_pairs(masked, example)}
    partner = partners[id(stem_mask)]
    assert partner.shape == (1, 16, 3, 3)
    assert partner.data_ptr() == depthwise.weight.data_ptr()  # a view: filters as they train
    torch.testing.assert_close(partner[0], depthwise.weight[:, 0])
    # the whole group collapsed: the channels whose filters are the strongest come back
    with torch.no_grad():
        stem_mask.zero_()
    CoGD(SoftMaskFISTA([stem_mask], lr=0.1), [(stem_mask, partner)], rule="revival").couple()
    revived = stem_mask.detach() > 0
    strength = depthwise.weight.detach().abs().sum(dim=(1, 2, 3))
    assert 0 < int(revived.sum()) < 16
    assert strength[revived].min() >= strength[~revived].max()


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
    with torch.no_grad():
        masked.features[1].mask.weight.copy_(torch.linspace(0, 1, 8))
    graph = dependency_graph(masked, example)
    group = graph.get_pruning_group(masked.features[0], tp.prune_conv_out_channels,
                                    list(range(8)))
    expected = torch.linspace(0, 1, 8).double()
    torch.testing.assert_close(CoGDImportance(revival)(group), expected)
    torch.testing.assert_close(SoftMaskImportance()(group), expected)
    with pytest.raises(TypeError, match="optimizer"):
        CoGDImportance(torch.optim.SGD(model.parameters(), lr=0.1))


def test_pruned_model_saves_and_loads_two_ways(tmp_path):
    model = zoo_model("densenet", 10).eval()
    example = torch.zeros(1, 3, 64, 64)
    result = prune(model, example, ratio=0.4)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        expected = result.model(x)
    # 1. the whole module (pickles the classes: load with weights_only=False, trusted files only)
    torch.save(result.model, tmp_path / "pruned.pt")
    loaded = torch.load(tmp_path / "pruned.pt", weights_only=False)
    # 2. weights only: the plan and the state dict, replayed on a freshly built dense model
    buffer = io.BytesIO()
    torch.save({"plan": result.plan.keep, "state_dict": result.model.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    rebuilt = apply_plan(MODELS["densenet"](), example, PruningPlan(keep=saved["plan"]))
    rebuilt.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
        torch.testing.assert_close(rebuilt.eval()(x), expected, rtol=0, atol=0)


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
        prune(model, example, scores={"nope": torch.ones(8)})
    with pytest.raises(ValueError, match=r"scores\['features.0'\]"):
        prune(model, example, scores={"features.0": torch.ones(7)})
    with pytest.raises(TypeError, match="scores"):
        prune(model, example, scores=[torch.ones(8)])
    with pytest.raises(ValueError, match="classifier.6"):  # the output layer: never pruned
        prune(model, example, scores={"classifier.6": torch.ones(10)})
    with pytest.raises(ValueError, match="ignored_layers"):
        prune(model, example, ignored_layers=[torch.nn.Conv2d(3, 8, 3)])
    with pytest.raises(ValueError, match="example_inputs"):
        prune(model, torch.zeros(1, 5, 64, 64))
    with pytest.raises(TypeError, match="example_inputs"):
        prune(model, [example])
    with pytest.raises(TypeError, match="model"):
        prune("model", example)
    with pytest.raises(ValueError, match="plan.keep"):
        apply_plan(model, example, PruningPlan(keep={"features.1": (0,)}))
    with pytest.raises(ValueError, match="features.0"):
        apply_plan(model, example, PruningPlan(keep={"features.0": (8,)}))
