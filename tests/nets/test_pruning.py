import pytest

torch = pytest.importorskip("torch")

from nets import (  # noqa: E402
    CoGD,
    LogitDiscriminator,
    PruningPlan,
    SoftMaskFISTA,
    adversarial_losses,
    bn_scale_scores,
    compute_mask,
    count_parameters,
    distillation_loss,
    fista_mask_update,
    mask_pairs,
    masked_blocks,
    measure_cost,
    plan_for_macs,
    plan_from_masks,
    recalibrate_bn,
    remove_channels,
    resnet18,
    resnet20,
)


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
    optimizer.step()
    assert all(p.grad is not None for p in pruned.parameters())


def test_plan_errors_name_the_block():
    model = resnet20(soft_mask=True)
    with pytest.raises(ValueError, match="not a BasicBlock"):
        remove_channels(model, PruningPlan(keep={"fc": (0,)}))
    with pytest.raises(ValueError, match="stages.0.0"):
        remove_channels(model, PruningPlan(keep={"stages.0.0": (99,)}))
    with pytest.raises(ValueError, match="stages.0.0"):
        remove_channels(model, PruningPlan(keep={"stages.0.0": ()}))


def test_compute_mask_keeps_highest_scores_by_ratio_or_count():
    scores = torch.tensor([0.3, 0.1, 0.5, 0.2, 0.4])
    assert compute_mask(scores, ratio=0.4).tolist() == [True, False, True, False, True]
    assert compute_mask(scores, n_channels=1).tolist() == [False, False, True, False, False]
    with pytest.raises(ValueError, match="ratio"):
        compute_mask(scores, ratio=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        compute_mask(scores)
    with pytest.raises(ValueError, match="n_channels"):
        compute_mask(scores, n_channels=0)


def test_fista_step_is_soft_threshold_clamped_at_zero():
    mask = torch.tensor([1.0, 0.05, 0.5])
    grad = torch.tensor([0.0, 0.0, -1.0])
    new, proximal, t = fista_mask_update(mask, grad, mask.clone(), 1.0, lr=0.1,
                                         sparsity_weight=1.0)
    torch.testing.assert_close(proximal, torch.tensor([0.9, 0.0, 0.5]))
    torch.testing.assert_close(new, proximal)  # t = 1: no extrapolation yet
    assert t == pytest.approx((1 + 5**0.5) / 2)
    new2, _, _ = fista_mask_update(new, torch.zeros(3), mask, t, lr=0.1, sparsity_weight=1.0)
    assert torch.all(new2 >= 0)
    assert new2[1] == 0  # a dead mask stays exactly 0 under the l1 prox


def test_fista_optimizer_drives_unused_masks_to_exact_zero():
    mask = torch.nn.Parameter(torch.ones(5))
    optimizer = SoftMaskFISTA([mask], lr=0.5, sparsity_weight=0.2)
    target = torch.tensor([2.0, 0.0, 0.0, 1.0, 0.0])
    for _ in range(100):
        optimizer.zero_grad()
        ((mask - target) ** 2).sum().mul(0.5).backward()
        optimizer.step()
    assert torch.equal(mask.detach()[[1, 2, 4]], torch.zeros(3))
    torch.testing.assert_close(mask.detach()[[0, 3]], torch.tensor([1.8, 0.8]))
    with pytest.raises(ValueError, match="sparsity_weight"):
        SoftMaskFISTA([mask], lr=0.1, sparsity_weight=-1.0)


def test_cogd_revival_on_a_masked_resnet_revives_only_active_partners():
    torch.manual_seed(5)
    model = resnet20(soft_mask=True)
    block = model.stages[0][0]
    with torch.no_grad():
        block.mask.weight.zero_()
        block.conv2.weight[:, :8].mul_(10.0)  # channels 0..7 have strong partners
    optimizer = CoGD(SoftMaskFISTA([m for m, _ in mask_pairs(model)], lr=1.0),
                     mask_pairs(model), rule="revival")
    report = optimizer.couple()
    assert report.n_flagged[0] == 8
    assert torch.equal(block.mask.weight.detach()[:8], torch.full((8,), 0.75))
    assert torch.equal(block.mask.weight.detach()[8:], torch.zeros(8))


def test_slimming_plan_meets_the_macs_target_and_removes_lowest_scales():
    torch.manual_seed(6)
    model = resnet20()
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


def test_distillation_is_zero_for_identical_outputs_and_adversarial_losses_are_finite():
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 10, generator=generator)
    features = torch.randn(6, 4, generator=generator)
    loss = distillation_loss(logits, logits, student_features=features,
                             teacher_features=features)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(logits, logits.flip(0))) > 0
    torch.manual_seed(7)
    discriminator = LogitDiscriminator(10)
    student = logits.clone().requires_grad_(True)
    generator_loss, discriminator_loss = adversarial_losses(discriminator, student, logits * 2)
    generator_loss.backward()
    assert student.grad is not None and torch.isfinite(discriminator_loss)


def test_fista_restarts_momentum_for_entries_changed_from_outside():
    mask = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    optimizer = SoftMaskFISTA([mask], lr=0.1, sparsity_weight=1.0)
    for _ in range(5):  # build up downward momentum on both entries
        optimizer.zero_grad()
        mask.sum().mul(0.0).backward()
        optimizer.step()
    with torch.no_grad():
        mask[0] = 0.75  # e.g. a CoGD revival
    before = mask.detach().clone()
    optimizer.zero_grad()
    mask.sum().mul(0.0).backward()
    optimizer.step()
    # the revived entry restarts from 0.75: proximal step to 0.65, extrapolated by at most one
    # more such step (no inherited momentum); the other entry keeps its momentum
    assert optimizer.state[mask]["previous"][0].item() == pytest.approx(0.75 - 0.1)
    assert 0.75 - 0.2 - 1e-6 <= mask[0].item() < 0.65
    assert before[1] - mask[1].item() > 0.1 + 1e-6


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
