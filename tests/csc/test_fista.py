import numpy as np
import pytest

from csc.coding import objective_terms, reconstruct_spatial
from csc.fista import fista_sparse_code

from .helpers import coding_problem

LAM = 0.2


def test_larger_fista_step_reaches_the_same_optimum_sooner_and_backtracks_when_it_must():
    """step_scale=2 on a half-masked problem: the same optimum as the classical step, a lower
    objective after few iterations; unmasked, the bound fails, the step falls back to 1/L and
    the iteration still converges to the optimum."""
    signal, weights, filters_hat = coding_problem(4, missing=0.5)

    def solve(scale, max_iter, weights=weights):
        result = fista_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM,
                                   max_iter=max_iter, step_scale=scale, filter_size=5, xp=np)
        value = sum(objective_terms(signal, weights, filters_hat, result.coefficients,
                                    sparsity_weight=LAM, xp=np))
        return value, result

    optimum, _ = solve(1.0, 4000)
    assert solve(2.0, 4000)[0] == pytest.approx(optimum, rel=1e-6)
    early = {scale: solve(scale, 30)[0] for scale in (1.0, 2.0)}
    assert optimum <= early[2.0] < early[1.0]
    full = np.ones_like(weights)
    unmasked_optimum, _ = solve(1.0, 4000, full)
    value, result = solve(4.0, 4000, full)
    assert value == pytest.approx(unmasked_optimum, rel=1e-6)
    assert result.history["step_scale"][0] == 4.0 and result.history["step_scale"][-1] < 4.0


def test_fista_reconstruction_is_the_synthesis_of_its_codes():
    signal, weights, filters_hat = coding_problem(5)
    for filter_size in (None, 5):  # by FFT and by sparse synthesis
        result = fista_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM, max_iter=20,
                                   filter_size=filter_size, step_scale=2.0, xp=np)
        expected = reconstruct_spatial(filters_hat, result.coefficients, signal.shape[-2:], xp=np)
        np.testing.assert_allclose(result.reconstruction, expected, atol=1e-10)
