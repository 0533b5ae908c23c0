import math

import pytest

torch = pytest.importorskip("torch")

from nets import (  # noqa: E402
    RVS,
    BinarizedReLU,
    SmallCNN,
    binarized_relu,
    coarse_gradient,
    population_coarse_gradient,
    population_loss,
    prox_l0,
    prox_l1,
    prox_penalty,
    prox_transformed_l1,
    prunable_weights,
    rvscgd_toy,
    toy_output,
    transformed_l1,
)

GRID = torch.linspace(-6, 6, 60001, dtype=torch.float64)  # spacing 2e-4


def _brute_force_prox(x, penalty_values, lam):
    """argmin_u 0.5 (u - x)^2 + lam P(u) on GRID, for each entry of x."""
    objective = 0.5 * (GRID[None, :] - x[:, None]) ** 2 + lam * penalty_values[None, :]
    return GRID[objective.argmin(dim=1)]


def _random_points(seed, n=40):
    generator = torch.Generator().manual_seed(seed)
    return 6 * torch.rand(n, generator=generator, dtype=torch.float64) - 3


def _far_from(x, threshold, margin=1e-3):
    return x[(x.abs() - threshold).abs() > margin]  # avoid ties at the threshold


@pytest.mark.parametrize("lam", [0.01, 0.3, 1.5])
def test_l1_threshold_matches_brute_force(lam):
    x = _random_points(0)
    expected = _brute_force_prox(x, GRID.abs(), lam)
    torch.testing.assert_close(prox_l1(x, lam), expected, atol=3e-4, rtol=0)


@pytest.mark.parametrize("lam", [0.01, 0.3, 1.5])
def test_l0_threshold_matches_brute_force(lam):
    x = _far_from(_random_points(1), math.sqrt(2 * lam))
    expected = _brute_force_prox(x, (GRID.abs() > 1e-9).to(GRID.dtype), lam)
    torch.testing.assert_close(prox_l0(x, lam), expected, atol=3e-4, rtol=0)


@pytest.mark.parametrize("a", [0.1, 1.0, 3.0])
@pytest.mark.parametrize("lam", [0.05, 0.5, 2.0])
def test_transformed_l1_closed_form_matches_brute_force(a, lam):
    # covers both threshold regimes: lam <= a^2 / (2 (a + 1)) and above
    threshold = (lam * (a + 1) / a if lam <= a * a / (2 * (a + 1))
                 else math.sqrt(2 * lam * (a + 1)) - a / 2)
    x = _far_from(_random_points(2), threshold)
    expected = _brute_force_prox(x, transformed_l1(GRID, a=a), lam)
    torch.testing.assert_close(prox_transformed_l1(x, lam, a=a), expected, atol=3e-4, rtol=0)


def test_prox_penalty_dispatches_and_rejects_unknown_names():
    x = torch.tensor([-1.0, 0.05, 2.0])
    torch.testing.assert_close(prox_penalty(x, 0.1, penalty="l1"), prox_l1(x, 0.1))
    torch.testing.assert_close(prox_penalty(x, 0.1, penalty="l0"), prox_l0(x, 0.1))
    torch.testing.assert_close(prox_penalty(x, 0.1, penalty="transformed_l1", a=2.0),
                               prox_transformed_l1(x, 0.1, a=2.0))
    with pytest.raises(ValueError, match="penalty"):
        prox_penalty(x, 0.1, penalty="l2")


@pytest.mark.parametrize("straight_through, window", [
    ("relu", lambda x: x > 0), ("clipped_relu", lambda x: (x > 0) & (x < 1))])
def test_binarized_relu_forward_is_step_and_backward_is_surrogate_derivative(
        straight_through, window):
    generator = torch.Generator().manual_seed(3)
    x = (2 * torch.randn(50, generator=generator)).requires_grad_()
    upstream = torch.randn(50, generator=generator)
    out = BinarizedReLU(straight_through)(x)
    torch.testing.assert_close(out.detach(), (x.detach() > 0).float())
    out.backward(upstream)
    torch.testing.assert_close(x.grad, upstream * window(x.detach()).float())
    # the surrogate is the autograd derivative of ReLU (or clipped ReLU)
    y = x.detach().clone().requires_grad_()
    surrogate = torch.relu(y) if straight_through == "relu" else torch.clamp(y, 0, 1)
    surrogate.backward(upstream)
    torch.testing.assert_close(x.grad, y.grad)


def test_binarized_relu_rejects_unknown_surrogate():
    with pytest.raises(ValueError, match="straight_through"):
        BinarizedReLU("sigmoid")
    with pytest.raises(ValueError, match="straight_through"):
        binarized_relu(torch.zeros(2), straight_through="identity")


def test_toy_coarse_gradient_equals_autograd_through_straight_through_relu():
    generator = torch.Generator().manual_seed(4)
    inputs = torch.randn(64, 5, 7, generator=generator)
    teacher = torch.randn(7, generator=generator)
    weight = torch.randn(7, generator=generator).requires_grad_()
    output = binarized_relu(inputs @ weight).mean(dim=1)
    loss = 0.5 * ((output - toy_output(inputs, teacher)) ** 2).mean()
    loss.backward()
    torch.testing.assert_close(coarse_gradient(inputs, weight.detach(), teacher), weight.grad)


def test_empirical_coarse_gradient_agrees_with_population_formula():
    generator = torch.Generator().manual_seed(5)
    k, d = 4, 8
    for _ in range(3):
        weight = torch.randn(d, generator=generator)
        weight /= weight.norm()
        teacher = torch.randn(d, generator=generator)
        teacher /= teacher.norm()
        inputs = torch.randn(100000, k, d, generator=generator)
        empirical = coarse_gradient(inputs, weight, teacher)
        population = population_coarse_gradient(weight, teacher, n_patches=k)
        cosine = float(empirical @ population / (empirical.norm() * population.norm()))
        assert cosine > 0.98
        assert float(empirical.norm() / population.norm()) == pytest.approx(1.0, abs=0.08)
        # positive correlation with w - w* (the descent property in SPEC 6)
        assert float(empirical @ (weight - teacher)) > 0
        assert torch.equal(torch.sign(population), torch.sign(weight - teacher))


def test_empirical_loss_agrees_with_population_loss_angle_formula():
    generator = torch.Generator().manual_seed(6)
    k, d = 5, 6
    weight = torch.randn(d, generator=generator)
    teacher = torch.randn(d, generator=generator)
    inputs = torch.randn(100000, k, d, generator=generator)
    residual = toy_output(inputs, weight) - toy_output(inputs, teacher)
    empirical = 0.5 * float((residual ** 2).mean())
    assert empirical == pytest.approx(population_loss(weight, teacher, n_patches=k), rel=0.05)


@pytest.mark.parametrize("penalty", ["l0", "l1", "transformed_l1"])
def test_rvscgd_recovers_sparse_teacher_with_fast_step(penalty):
    # disclosed fast step size eta = 1 (the paper's 1e-5 needs ~1e7 iterations) and
    # lambda = 1e-5 (the paper's 1e-4 with beta = 4e-3 gives an l0 threshold of 0.22).
    generator = torch.Generator().manual_seed(7)
    d = 20
    teacher = torch.zeros(d)
    support = torch.randperm(d, generator=generator)[: d // 2]
    signs = torch.where(torch.rand(d // 2, generator=generator) < 0.5, -1.0, 1.0)
    teacher[support] = signs * (0.5 + torch.rand(d // 2, generator=generator))
    teacher /= teacher.norm()
    result = rvscgd_toy(teacher, n_patches=5, penalty=penalty, sparsity_weight=1e-5,
                        coupling=4e-3, step_size=1.0, max_iter=200, batch_size=128,
                        record_every=50, generator=generator)
    u = result.sparse_weight
    assert result.angle_sparse[-1] < 0.1
    assert result.angle_sparse[-1] < 0.2 * result.angle_sparse[0]
    assert float(result.weight.norm()) == pytest.approx(1.0, abs=1e-5)
    if penalty == "l0":
        predicted, actual = u != 0, teacher != 0
        true_positive = int((predicted & actual).sum())
        f1 = 2 * true_positive / (int(predicted.sum()) + int(actual.sum()))
        assert f1 >= 0.9


def test_rvscgd_rejects_bad_arguments():
    teacher = torch.ones(4)
    with pytest.raises(ValueError, match="coupling"):
        rvscgd_toy(teacher, n_patches=2, coupling=0.0)
    with pytest.raises(ValueError, match="penalty"):
        rvscgd_toy(teacher, n_patches=2, penalty="l3")
    with pytest.raises(ValueError, match="teacher"):
        rvscgd_toy(torch.zeros(4), n_patches=2)


def test_rvs_coupling_gradient_and_sparse_inference_swap():
    generator = torch.Generator().manual_seed(8)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), BinarizedReLU(), torch.nn.Linear(5, 2))
    rvs = RVS(prunable_weights(model), penalty="l1", sparsity_weight=0.02, coupling=0.5)
    weights = prunable_weights(model)
    dense = [w.detach().clone() for w in weights]
    for w, u in zip(weights, rvs.sparse, strict=True):
        torch.testing.assert_close(u, prox_l1(w.detach(), 0.02 / 0.5))
    x = torch.randn(4, 6, generator=generator)
    model.zero_grad()
    rvs.add_coupling_grad()  # no task gradient: grad is exactly beta (w - u)
    for w, u in zip(weights, rvs.sparse, strict=True):
        torch.testing.assert_close(w.grad, 0.5 * (w.detach() - u))
    with rvs.sparse_weights():
        for w, u in zip(weights, rvs.sparse, strict=True):
            assert torch.equal(w.detach(), u)
        sparse_out = model(x)
    for w, d in zip(weights, dense, strict=True):
        assert torch.equal(w.detach(), d)
    rvs.apply_sparse_()
    torch.testing.assert_close(model(x), sparse_out)
    assert rvs.sparsity() == pytest.approx(
        sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights))


def test_rvs_state_dict_round_trip():
    model = SmallCNN(width=2, hidden=4)
    rvs = RVS(prunable_weights(model), sparsity_weight=1e-3, coupling=0.1)
    state = rvs.state_dict()
    other = RVS(prunable_weights(SmallCNN(width=2, hidden=4)), penalty="l1",
                sparsity_weight=1.0, coupling=1.0)
    other.load_state_dict(state)
    assert other.penalty == "l0" and other.coupling == 0.1
    for a, b in zip(other.sparse, rvs.sparse, strict=True):
        assert torch.equal(a, b)


def test_rvs_training_sparsifies_a_binarized_network():
    generator = torch.Generator().manual_seed(9)
    torch.manual_seed(9)
    inputs = torch.randn(256, 10, generator=generator)
    labels = (inputs[:, 0] + inputs[:, 1] > 0).long()  # depends on two features only
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.BatchNorm1d(32),
                                BinarizedReLU(), torch.nn.Linear(32, 2))
    rvs = RVS(prunable_weights(model), penalty="l0", sparsity_weight=1e-2, coupling=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(300):
        index = torch.randint(0, 256, (64,), generator=generator)
        rvs.update_sparse()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs[index]), labels[index]).backward()
        rvs.add_coupling_grad()
        optimizer.step()
    rvs.update_sparse()
    model.eval()
    with rvs.sparse_weights():
        accuracy = float((model(inputs).argmax(1) == labels).float().mean())
    assert rvs.sparsity() > 0.5
    assert accuracy > 0.85


def test_rvs_rejects_bad_arguments():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="sparsity_weight"):
        RVS(params, sparsity_weight=0.0, coupling=1.0)
    with pytest.raises(ValueError, match="penalty"):
        RVS(params, penalty="l2", sparsity_weight=1.0, coupling=1.0)
    with pytest.raises(ValueError, match="params"):
        RVS([], sparsity_weight=1.0, coupling=1.0)


def test_small_cnn_binarized_has_float32_outputs_and_gradients():
    model = SmallCNN(activation="binarized", batch_norm=True)
    out = model(torch.randn(4, 1, 8, 8))
    assert out.shape == (4, 10) and out.dtype == torch.float32
    out.sum().backward()
    assert model.features[0].weight.grad is not None
    assert float(model.features[0].weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="activation"):
        SmallCNN(activation="tanh")
