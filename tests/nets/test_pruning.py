import pytest

torch = pytest.importorskip("torch")

from nets import (  # noqa: E402
    bn_scale_scores,
    measure_cost,
    plan_for_macs,
    plan_from_masks,
    recalibrate_bn,
    remove_channels,
    resnet18,
    resnet20,
)
from nets.cost import count_parameters  # noqa: E402
from nets.masks import masked_blocks  # noqa: E402
from nets.pruning import PruningPlan, mask_scores  # noqa: E402


def _randomise_bn(model, generator):
    # non-trivial BN statistics, so slicing the wrong entries would change the outputs
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)


def _zero_some_masks(model, generator, fraction=0.5):
    with torch.no_grad():
        for _, block in masked_blocks(model):
            n = block.mask.weight.numel()
            values = torch.rand(n, generator=generator) + 0.2
            values[torch.randperm(n, generator=generator)[: int(fraction * n)]] = 0.0
            block.mask.weight.copy_(values)


def test_removing_zero_mask_channels_preserves_outputs_and_drops_parameters():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = resnet20(soft_mask=True).eval()
    _randomise_bn(model, generator)
    _zero_some_masks(model, generator)
    plan = plan_from_masks(model)
    pruned = remove_channels(model, plan).eval()
    x = torch.randn(4, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)
    assert count_parameters(pruned) < count_parameters(model)
    assert measure_cost(pruned).macs < measure_cost(model).macs
    for name, block in masked_blocks(pruned):
        assert block.conv1.weight.shape[0] == len(plan.keep[name])
        assert block.bn1.running_var.shape == (len(plan.keep[name]),)
        assert block.conv2.weight.shape[1] == len(plan.keep[name])
        assert block.mask is None  # folded into conv2


def test_removal_without_folding_keeps_the_sliced_mask_and_outputs():
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = resnet20(soft_mask=True).eval()
    _randomise_bn(model, generator)
    _zero_some_masks(model, generator, fraction=0.3)
    pruned = remove_channels(model, plan_from_masks(model), fold_masks=False).eval()
    x = torch.randn(2, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)
    for _, block in masked_blocks(pruned):
        assert torch.all(block.mask.weight > 0)


def test_removal_leaves_the_input_model_untouched_and_prunes_option_b_resnet():
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    model = resnet18(soft_mask=True).eval()
    _randomise_bn(model, generator)
    _zero_some_masks(model, generator, fraction=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned = remove_channels(model, plan_from_masks(model)).eval()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    x = torch.randn(1, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-4, atol=1e-5)
    assert count_parameters(pruned) < count_parameters(model)


def test_fully_masked_block_keeps_one_channel_and_outputs():
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    model = resnet20(soft_mask=True).eval()
    _randomise_bn(model, generator)
    with torch.no_grad():
        model.stages[1][1].mask.weight.zero_()
    plan = plan_from_masks(model)
    assert len(plan.keep["stages.1.1"]) == 1
    pruned = remove_channels(model, plan).eval()
    x = torch.randn(2, 3, 32, 32, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-5, atol=1e-5)


def test_pruned_model_trains_with_a_new_optimizer():
    generator = torch.Generator().manual_seed(4)
    torch.manual_seed(4)
    model = resnet20(soft_mask=True)
    _zero_some_masks(model, generator)
    pruned = remove_channels(model, plan_from_masks(model))
    optimizer = torch.optim.SGD(pruned.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 32, 32, generator=generator), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(pruned(x), y)
    loss.backward()
    before = [p.detach().clone() for p in pruned.parameters()]
    original = {key: value.clone() for key, value in model.state_dict().items()}
    optimizer.step()
    assert all(p.grad is not None for p in pruned.parameters())
    # the step moves every pruned parameter with a non-zero gradient, and only the pruned model
    moved = [not torch.equal(p.detach(), b) for p, b in zip(pruned.parameters(), before, strict=True)]
    assert all(m for m, p in zip(moved, pruned.parameters(), strict=True) if p.grad.any())
    assert any(moved)
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key]), key


def test_plan_errors_name_the_block():
    model = resnet20(soft_mask=True)
    with pytest.raises(ValueError, match="not a BasicBlock"):
        remove_channels(model, PruningPlan(keep={"fc": (0,)}))
    with pytest.raises(ValueError, match="stages.0.0"):
        remove_channels(model, PruningPlan(keep={"stages.0.0": (99,)}))
    with pytest.raises(ValueError, match="stages.0.0"):
        remove_channels(model, PruningPlan(keep={"stages.0.0": ()}))


def test_slimming_plan_meets_the_macs_target_and_removes_lowest_scales():
    torch.manual_seed(6)
    model = resnet20()
    _randomise_bn(model, torch.Generator().manual_seed(6))  # distinct |gamma|: the order matters
    dense = measure_cost(model).macs
    target = int(0.6 * dense)
    plan = plan_for_macs(model, bn_scale_scores(model), target_macs=target)
    pruned = remove_channels(model, plan)
    macs = measure_cost(pruned).macs
    assert macs <= target
    assert macs > target - 16 * 32 * 32 * 9 * 2  # stops within one channel's cost
    threshold = max(float(s) for name, scores in bn_scale_scores(model).items()
                    for c, s in enumerate(scores) if c not in plan.keep[name])
    for name, scores in bn_scale_scores(model).items():
        for c in plan.keep[name]:
            assert float(scores[c]) >= threshold or len(plan.keep[name]) == 1


def test_mask_plan_for_macs_stops_at_the_target_keeping_zero_masks_beyond_it():
    # more exactly-zero masks than the budget needs: the plan removes only as many as needed
    # (zero masks first), and the cut model still equals the masked one (kept zeros fold to 0)
    torch.manual_seed(7)
    model = resnet20(soft_mask=True).eval()
    _randomise_bn(model, torch.Generator().manual_seed(7))
    with torch.no_grad():
        for _, block in masked_blocks(model):
            block.mask.weight.uniform_(0.5, 1.0)
            block.mask.weight[: block.mask.weight.numel() * 3 // 4] = 0.0
    dense = measure_cost(model).macs
    zero_rule = measure_cost(remove_channels(model, plan_from_masks(model))).macs
    target = int(0.8 * dense)
    assert zero_rule < target
    plan = plan_for_macs(model, mask_scores(model), target_macs=target)
    pruned = remove_channels(model, plan).eval()
    macs = measure_cost(pruned).macs
    assert target - 16 * 32 * 32 * 9 * 2 < macs <= target
    for name, block in masked_blocks(model):
        removed = set(range(block.mask.weight.numel())) - set(plan.keep[name])
        assert all(float(block.mask.weight.detach()[c]) == 0 for c in removed)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), atol=1e-4, rtol=1e-4)


def test_mask_scores_are_the_absolute_masks_of_masked_blocks_only():
    model = resnet20(soft_mask=True)
    with torch.no_grad():
        model.stages[0][0].mask.weight[:2] = torch.tensor([-0.5, 0.0])
    scores = mask_scores(model)
    assert set(scores) == {name for name, _ in masked_blocks(model)}
    assert scores["stages.0.0"][:3].tolist() == [0.5, 0.0, 1.0]
    assert mask_scores(resnet20()) == {}


def test_bn_recalibration_recomputes_running_statistics_from_the_images_only():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.3))
    with torch.no_grad():
        model[1].running_mean.fill_(5.0)
        model[1].running_var.fill_(9.0)
    model.eval()
    images = torch.randn(12, 3, 8, 8, generator=generator)
    weights = [p.detach().clone() for p in model.parameters()]
    assert recalibrate_bn(model, images, batch_size=12) is model
    with torch.no_grad():
        features = model[0](images)
    torch.testing.assert_close(model[1].running_mean, features.mean((0, 2, 3)))
    torch.testing.assert_close(model[1].running_var, features.var((0, 2, 3), unbiased=True))
    assert not model.training and model[1].momentum == 0.3
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    # several batches: cumulative average of the per-batch statistics
    recalibrate_bn(model, images, batch_size=4)
    with torch.no_grad():
        means = torch.stack([model[0](images[i:i + 4]).mean((0, 2, 3)) for i in (0, 4, 8)])
    torch.testing.assert_close(model[1].running_mean, means.mean(0))
