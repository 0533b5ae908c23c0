import math

import pytest

torch = pytest.importorskip("torch")

from nets.prox import (  # noqa: E402
    prox_l0,
    prox_l1,
    prox_penalty,
    prox_transformed_l1,
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


def _brute_force_argmin(objective, grid):
    return grid[torch.argmin(objective(grid))]


def test_soft_threshold_matches_brute_force_prox():
    generator = torch.Generator().manual_seed(0)
    grid = torch.linspace(-5, 5, 40001, dtype=torch.float64)
    for x, tau in zip(torch.randn(20, generator=generator, dtype=torch.float64) * 2,
                      torch.rand(20, generator=generator, dtype=torch.float64), strict=True):
        expected = _brute_force_argmin(lambda u, x=x, tau=tau: 0.5 * (u - x) ** 2 + tau * u.abs(),
                                       grid)
        assert abs(float(prox_l1(x, tau)) - float(expected)) < 5e-4


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
