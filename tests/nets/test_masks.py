import pytest

torch = pytest.importorskip("torch")

from nets import CoGD, SoftMaskFISTA, compute_mask, resnet20  # noqa: E402
from nets.masks import fista_mask_update  # noqa: E402


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


def test_cogd_revival_on_a_masked_resnet_revives_only_active_partners():
    torch.manual_seed(5)
    model = resnet20(soft_mask=True)
    block = model.stages[0][0]
    with torch.no_grad():
        block.mask.weight.zero_()
        block.conv2.weight[:, :8].mul_(10.0)  # channels 0..7 have strong partners
    pairs = [(block.mask.weight, block.conv2.weight) for block in model.blocks]
    optimizer = CoGD(SoftMaskFISTA([m for m, _ in pairs], lr=1.0), pairs, rule="revival")
    report = optimizer.couple()
    assert report.n_flagged[0] == 8
    assert torch.equal(block.mask.weight.detach()[:8], torch.full((8,), 0.75))
    assert torch.equal(block.mask.weight.detach()[8:], torch.zeros(8))
