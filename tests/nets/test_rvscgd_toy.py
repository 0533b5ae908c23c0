import pytest

torch = pytest.importorskip("torch")

from nets.binarized import binarized_relu  # noqa: E402
from nets.rvscgd_toy import (  # noqa: E402
    coarse_gradient,
    population_coarse_gradient,
    population_loss,
    rvscgd_toy,
    toy_output,
)


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
                        record_every=50, random_state=generator)
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
    with pytest.raises(ValueError, match="random_state"):
        rvscgd_toy(teacher, n_patches=2, random_state=-1)


def test_rvscgd_random_state_is_a_seed_or_a_generator_with_the_same_draws():
    options = dict(n_patches=2, step_size=1.0, max_iter=5, batch_size=8)
    by_seed = rvscgd_toy(torch.ones(4), random_state=3, **options)
    by_generator = rvscgd_toy(torch.ones(4), random_state=torch.Generator().manual_seed(3),
                              **options)
    assert torch.equal(by_seed.weight, by_generator.weight)
    assert by_seed.batch_loss == by_generator.batch_loss
