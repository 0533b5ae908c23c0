import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from csc import coupling  # noqa: E402
from nets import CoGD, conv_bn_pairs  # noqa: E402
from nets.coupling import backtrack_update, revival_update, unit_scores  # noqa: E402


def _small_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, bias=False), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
        torch.nn.Conv2d(6, 5, 3, bias=False), torch.nn.BatchNorm2d(5), torch.nn.Flatten(),
        torch.nn.LazyLinear(4),
    )


def _train(model, optimizer, *, n_epochs, seed, couple):
    generator = torch.Generator().manual_seed(seed)
    reports = []
    for _ in range(n_epochs):
        for _ in range(3):
            x = torch.randn(8, 3, 7, 7, generator=generator)
            y = torch.randint(0, 4, (8,), generator=generator)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if couple:
            reports.append(optimizer.couple())
    return reports


def test_torch_asynchronous_units_match_numpy_on_the_same_scores():
    rng = np.random.default_rng(0)
    for kernel in ("linear", "polynomial", "sqrt"):
        sparse, partner = rng.random(17), rng.random(17)
        expected = coupling.asynchronous_units(sparse, partner, kernel=kernel, xp=np)
        got = coupling.asynchronous_units(torch.tensor(sparse), torch.tensor(partner),
                                          kernel=kernel, xp=torch)
        np.testing.assert_array_equal(got.numpy(), expected)


def test_torch_revival_matches_numpy_rule_on_conv_weights():
    rng = np.random.default_rng(1)
    mask = rng.random(12).astype(np.float32)
    weight = rng.standard_normal((8, 12, 3, 3)).astype(np.float32)
    scores = np.abs(weight).sum(axis=(0, 2, 3))
    expected = coupling.revive_collapsed_masks(mask, scores, xp=np)
    got = revival_update(torch.tensor(mask), torch.tensor(weight))
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-7)
    assert got.dtype == torch.float32


def test_torch_backtrack_matches_numpy_on_the_same_scores():
    rng = np.random.default_rng(2)
    gamma, gamma0 = rng.random(10), rng.random(10)
    weight, weight0 = rng.standard_normal((10, 3, 3, 3)), rng.standard_normal((10, 3, 3, 3))
    units = coupling.asynchronous_units(np.abs(gamma), np.abs(weight).sum(axis=(1, 2, 3)), xp=np)
    result = backtrack_update(torch.tensor(gamma), torch.tensor(weight), torch.tensor(gamma0),
                              torch.tensor(weight0), backtrack_rate=0.5)
    np.testing.assert_array_equal(result.units.numpy(), units)
    np.testing.assert_allclose(result.sparse.numpy(),
                               coupling.backtrack(gamma, gamma0, units, rate=0.5, xp=np))
    np.testing.assert_allclose(result.partner.numpy(),
                               coupling.backtrack(weight, weight0, units, rate=0.5, xp=np))


def test_reference_revival_rule_on_hand_made_example():
    # ks = sum_o |W[o, c]| = [8, 2, 6, 1, 5, 0]; minmax -> [1, .25, .75, .125, .625, 0];
    # sqrt + minmax -> [1, .5, .866, .354, .791, 0]; median = .645.
    # Channels above the median: 0, 2, 4. Collapsed (< 0.5): 0, 1, 3, 4 -> revive 0 and 4.
    weight = torch.tensor([8.0, 2.0, 6.0, 1.0, 5.0, 0.0]).view(1, 6, 1, 1).repeat(2, 1, 1, 1) / 2
    mask = torch.tensor([0.0, 0.1, 0.9, 0.0, 0.49, 0.3])
    new = revival_update(mask, weight)
    assert torch.equal(new, torch.tensor([0.75, 0.1, 0.9, 0.0, 0.75, 0.3]))
    assert torch.equal(mask, torch.tensor([0.0, 0.1, 0.9, 0.0, 0.49, 0.3]))  # not modified


def test_cogd_revival_rule_updates_masks_in_place_and_reports_count():
    mask = torch.nn.Parameter(torch.tensor([0.0, 0.1, 0.9, 0.0, 0.49, 0.3]))
    weight = torch.nn.Parameter(torch.tensor([8.0, 2.0, 6.0, 1.0, 5.0, 0.0]).view(1, 6, 1, 1))
    optimizer = CoGD(torch.optim.SGD([mask, weight], lr=0.1), [(mask, weight)], rule="revival")
    report = optimizer.couple()
    assert report.n_flagged == (2,) and report.n_units == (6,)
    assert torch.equal(mask.detach(), torch.tensor([0.75, 0.1, 0.9, 0.0, 0.75, 0.3]))


def test_backtrack_rule_restores_collapsed_channels_to_epoch_start():
    gamma = torch.nn.Parameter(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    weight = torch.nn.Parameter(torch.ones(4, 2, 1, 1))
    optimizer = CoGD(torch.optim.SGD([gamma, weight], lr=1.0), [(gamma, weight)])
    optimizer.step()  # takes the anchors (no gradients yet: nothing moves)
    with torch.no_grad():  # channel 0 collapses while its filter grows; channel 3 shrinks both
        gamma.copy_(torch.tensor([0.0, 0.9, 1.1, 0.1]))
        weight.mul_(torch.tensor([3.0, 1.0, 1.0, 0.2]).view(4, 1, 1, 1))
    report = optimizer.couple()
    assert report.n_flagged == (1,)
    assert torch.equal(gamma.detach(), torch.tensor([1.0, 0.9, 1.1, 0.1]))
    assert torch.equal(weight.detach()[0], torch.ones(2, 1, 1))
    assert torch.equal(weight.detach()[3], torch.full((2, 1, 1), 0.2))


@pytest.mark.parametrize("base", ["sgd", "adamw"])
def test_non_coupled_parameters_follow_the_base_optimizer_bitwise(base):
    # Reference: the plain base optimizer, into which the coupled tensors chosen by CoGD are copied
    # after every epoch. CoGD must do nothing else: every other parameter matches bitwise.
    def make(model):
        if base == "sgd":
            return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
        return torch.optim.AdamW(model.parameters(), lr=1e-2)

    reference, coupled = _small_model(3), _small_model(3)
    x = torch.zeros(1, 3, 7, 7)
    reference(x), coupled(x)  # materialise the lazy layer
    coupled.load_state_dict(reference.state_dict())
    reference_optimizer = make(reference)
    pairs = conv_bn_pairs(coupled)
    optimizer = CoGD(make(coupled), pairs, coupling_quantiles=(0.5, 0.3))
    reference_pairs = conv_bn_pairs(reference)
    n_flagged = 0
    for epoch in range(3):
        _train(reference, reference_optimizer, n_epochs=1, seed=epoch, couple=False)
        reports = _train(coupled, optimizer, n_epochs=1, seed=epoch, couple=True)
        n_flagged += reports[0].total_flagged
        with torch.no_grad():
            for source, target in zip(pairs, reference_pairs, strict=True):
                for s, t in zip(source, target, strict=True):
                    t.copy_(s)
        for (name, p_ref), p in zip(reference.named_parameters(), coupled.parameters(),
                                    strict=True):
            assert torch.equal(p_ref, p), (epoch, name)
    assert n_flagged > 0  # the rule did act on the coupled tensors


def test_step_without_coupling_is_exactly_the_base_step():
    reference, wrapped = _small_model(5), _small_model(5)
    x = torch.zeros(1, 3, 7, 7)
    reference(x), wrapped(x)
    wrapped.load_state_dict(reference.state_dict())
    _train(reference, torch.optim.SGD(reference.parameters(), lr=0.1), n_epochs=2, seed=6,
           couple=False)
    optimizer = CoGD(torch.optim.SGD(wrapped.parameters(), lr=0.1), conv_bn_pairs(wrapped))
    _train(wrapped, optimizer, n_epochs=2, seed=6, couple=False)
    for p_ref, p in zip(reference.parameters(), wrapped.parameters(), strict=True):
        assert torch.equal(p_ref, p)


def test_step_returns_the_closure_loss():
    model = _small_model(7)
    model(torch.zeros(1, 3, 7, 7))
    optimizer = CoGD(torch.optim.SGD(model.parameters(), lr=0.1), conv_bn_pairs(model))

    def closure():
        optimizer.zero_grad()
        loss = model(torch.ones(2, 3, 7, 7)).square().mean()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_state_dict_round_trip_restores_anchors_and_base_state():
    model = _small_model(8)
    model(torch.zeros(1, 3, 7, 7))
    optimizer = CoGD(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                     conv_bn_pairs(model), coupling_quantiles=(0.3, 0.5))
    _train(model, optimizer, n_epochs=2, seed=9, couple=True)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)

    clone = _small_model(8)
    clone(torch.zeros(1, 3, 7, 7))
    clone.load_state_dict(model.state_dict())
    restored = CoGD(torch.optim.SGD(clone.parameters(), lr=0.1, momentum=0.9),
                    conv_bn_pairs(clone))
    restored.load_state_dict(state)
    assert restored.coupling_groups[0]["coupling_quantiles"] == (0.3, 0.5)
    for (x, w), (x2, w2) in zip(optimizer.pairs, restored.pairs, strict=True):
        assert torch.equal(optimizer.state[x]["anchor"], restored.state[x2]["anchor"])
        assert torch.equal(optimizer.state[w]["anchor"], restored.state[w2]["anchor"])
    # continuing both gives identical parameters
    _train(model, optimizer, n_epochs=1, seed=10, couple=True)
    _train(clone, restored, n_epochs=1, seed=10, couple=True)
    for p, q in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(p, q)


def test_lr_scheduler_attached_to_cogd_schedules_the_base_optimizer():
    # reference: the scheduler on the plain base optimizer; CoGD without coupling must match it
    reference, wrapped = _small_model(11), _small_model(11)
    x = torch.zeros(1, 3, 7, 7)
    reference(x), wrapped(x)
    wrapped.load_state_dict(reference.state_dict())
    base = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    reference_scheduler = torch.optim.lr_scheduler.StepLR(base, step_size=1, gamma=0.5)
    optimizer = CoGD(torch.optim.SGD(wrapped.parameters(), lr=0.1, momentum=0.9),
                     conv_bn_pairs(wrapped))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    assert optimizer.param_groups is optimizer.optimizer.param_groups
    for epoch in range(3):
        _train(reference, base, n_epochs=1, seed=20 + epoch, couple=False)
        _train(wrapped, optimizer, n_epochs=1, seed=20 + epoch, couple=False)
        reference_scheduler.step()
        scheduler.step()
    assert optimizer.optimizer.param_groups[0]["lr"] == 0.1 * 0.5**3
    for p_ref, p in zip(reference.parameters(), wrapped.parameters(), strict=True):
        assert torch.equal(p_ref, p)


def test_cogd_and_scheduler_state_round_trip_through_torch_save():
    model = _small_model(12)
    model(torch.zeros(1, 3, 7, 7))
    optimizer = CoGD(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                     conv_bn_pairs(model), backtrack_rate=0.5)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
    for epoch in range(2):
        _train(model, optimizer, n_epochs=1, seed=30 + epoch, couple=True)
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "model": model.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)  # weights_only=True: the state holds tensors and plain values

    clone = _small_model(12)
    clone(torch.zeros(1, 3, 7, 7))
    clone.load_state_dict(saved["model"])
    restored = CoGD(torch.optim.SGD(clone.parameters(), lr=0.1, momentum=0.9),
                    conv_bn_pairs(clone))
    restored_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(restored, T_max=5)
    restored.load_state_dict(saved["optimizer"])
    restored_scheduler.load_state_dict(saved["scheduler"])
    assert restored.coupling_groups[0]["backtrack_rate"] == 0.5
    assert restored.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    for epoch in range(2):  # continuing both gives identical parameters and learning rates
        _train(model, optimizer, n_epochs=1, seed=40 + epoch, couple=True)
        _train(clone, restored, n_epochs=1, seed=40 + epoch, couple=True)
        scheduler.step()
        restored_scheduler.step()
    assert restored.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    for p, q in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(p, q)


def test_loading_a_state_dict_of_other_pairs_names_the_mismatch():
    small = _small_model(13)
    small(torch.zeros(1, 3, 7, 7))
    optimizer = CoGD(torch.optim.SGD(small.parameters(), lr=0.1), conv_bn_pairs(small))
    state = optimizer.state_dict()
    gamma = torch.nn.Parameter(torch.ones(4))
    weight = torch.nn.Parameter(torch.ones(4, 2, 1, 1))
    other = CoGD(torch.optim.SGD([gamma, weight], lr=0.1), [(gamma, weight)])
    with pytest.raises(ValueError, match="state_dict"):
        other.load_state_dict(state)


def test_unit_scores_sum_absolute_values_over_other_axes():
    weight = torch.arange(24, dtype=torch.float32).view(2, 3, 2, 2) - 12
    assert torch.equal(unit_scores(weight, axis=1), weight.abs().sum(dim=(0, 2, 3)))
    assert torch.equal(unit_scores(weight, axis=0), weight.abs().sum(dim=(1, 2, 3)))


def test_bad_arguments_raise_errors_naming_them():
    gamma = torch.nn.Parameter(torch.ones(4))
    weight = torch.nn.Parameter(torch.ones(4, 2, 1, 1))
    base = torch.optim.SGD([gamma, weight], lr=0.1)
    with pytest.raises(ValueError, match="rule"):
        CoGD(base, [(gamma, weight)], rule="nope")
    with pytest.raises(ValueError, match="backtrack_rate"):
        CoGD(base, [(gamma, weight)], backtrack_rate=0.0)
    with pytest.raises(ValueError, match="coupling_quantiles"):
        CoGD(base, [(gamma, weight)], coupling_quantiles=(1.5, 0.5))
    with pytest.raises(ValueError, match="coupling_quantiles"):
        CoGD(base, [(gamma, weight)], coupling_quantiles=0.5)
    with pytest.raises(ValueError, match=r"pairs\[0\]\[1\]"):
        CoGD(base, [(gamma, weight)], rule="revival")  # axis 1 has 2 units, not 4
    with pytest.raises(TypeError, match="optimizer"):
        CoGD([gamma], [(gamma, weight)])
    with pytest.raises(ValueError, match="pairs"):
        CoGD(base, [])
