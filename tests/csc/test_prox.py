import numpy as np
import pytest

from csc.prox import (
    data_split_update,
    filter_support_mask,
    masked_data_prox,
    project_filters,
    soft_threshold,
)

GRID = np.linspace(-5, 5, 200001)


def brute_force_prox(function, value, grid=GRID):
    return grid[np.argmin(function(grid) + 0.5 * (grid - value) ** 2)]


@pytest.mark.parametrize("value", [-3.0, -0.4, 0.0, 0.2, 1.7])
@pytest.mark.parametrize("non_negative", [False, True])
def test_soft_threshold_is_the_l1_prox(value, non_negative):
    threshold = 0.5

    def penalty(x):
        return threshold * np.abs(x) + np.where(x < 0, np.inf, 0) if non_negative \
            else threshold * np.abs(x)

    expected = brute_force_prox(penalty, value)
    result = soft_threshold(np.array(value), threshold, non_negative=non_negative, xp=np)
    assert result == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("weight", [0.0, 1.0, 0.3])
def test_masked_data_prox_minimises_its_objective(weight):
    signal, value, rho = 1.3, -0.7, 2.0
    expected = brute_force_prox(lambda y: 0.5 * weight * (signal - y) ** 2 / rho, value)
    result = masked_data_prox(np.array(value), weight * signal, weight, rho, xp=np)
    assert result == pytest.approx(expected, abs=1e-4)


def test_data_split_update_is_the_relaxed_admm_step_and_keeps_its_inputs():
    rng = np.random.default_rng(1)
    product, split, split_dual, signal = rng.standard_normal((4, 2, 1, 5, 5))
    weights = (rng.random(signal.shape) > 0.3).astype(float)
    copies = [a.copy() for a in (product, split, split_dual)]
    new_split, new_dual = data_split_update(product, split, split_dual, weights * signal, weights,
                                            rho=2.0, relaxation=1.6, xp=np)
    relaxed = 1.6 * product - 0.6 * split
    # Y minimises 1/2 W (s - y)^2 + rho/2 (y - relaxed - U)^2; U gathers the new residual
    np.testing.assert_allclose(weights * (new_split - signal) + 2.0 * (new_split - relaxed
                                                                        - split_dual), 0,
                               atol=1e-12)
    np.testing.assert_allclose(new_dual, split_dual + relaxed - new_split, atol=1e-12)
    for array, copy in zip((product, split, split_dual), copies, strict=True):
        np.testing.assert_array_equal(array, copy)


def test_project_filters_is_feasible_and_satisfies_the_projection_inequality():
    rng = np.random.default_rng(0)
    grid, s = (9, 10), 4
    support = filter_support_mask(grid, s, dtype=np.float64, xp=np)
    points = rng.standard_normal((5, 2) + grid) * np.array([0.05, 3.0, 1.0, 0.2, 10])[:, None,
                                                                                     None, None]
    projected = project_filters(points, support, xp=np)
    assert np.all(projected[..., s:, :] == 0) and np.all(projected[..., :, s:] == 0)
    norms = np.sqrt((projected**2).sum(axis=(1, 2, 3)))
    assert np.all(norms <= 1 + 1e-12)
    # for a closed convex set: <x - P(x), y - P(x)> <= 0 for every feasible y
    for _ in range(50):
        feasible = project_filters(rng.standard_normal(points.shape), support, xp=np)
        inner = ((points - projected) * (feasible - projected)).sum(axis=(1, 2, 3))
        assert np.all(inner <= 1e-10)


def test_project_filters_keeps_feasible_filters():
    rng = np.random.default_rng(1)
    support = filter_support_mask((6, 6), 3, dtype=np.float64, xp=np)
    inside = project_filters(rng.standard_normal((4, 1, 6, 6)), support, xp=np) * 0.5
    np.testing.assert_array_equal(project_filters(inside, support, xp=np), inside)
