import numpy as np
import pytest

import csc._kernels as kernels
from csc.prox import soft_threshold


@pytest.mark.parametrize("non_negative", [False, True])
def test_fused_update_matches_its_definition_on_both_paths(monkeypatch, non_negative):
    rng = np.random.default_rng(0)
    X, Y, U = (rng.standard_normal((3, 4, 5, 6)).astype(np.float32) for _ in range(3))
    v = 1.8 * X + (1 - 1.8) * Y + U
    expected_Y = soft_threshold(v, 0.3, non_negative=non_negative, xp=np)
    expected = (expected_Y, v - expected_Y, expected_Y - (v - expected_Y))
    for numba in (kernels.numba, None):
        monkeypatch.setattr(kernels, "numba", numba)
        buffers = [Y.copy(), U.copy(), np.empty_like(Y)]
        kernels.shrink_dual_update(X, *buffers, relaxation=1.8, threshold=0.3,
                                   non_negative=non_negative, xp=np)
        for result, truth in zip(buffers, expected, strict=True):
            np.testing.assert_allclose(result, truth, atol=2e-6)


@pytest.mark.parametrize("non_negative", [False, True])
def test_fista_update_matches_its_definition_on_both_paths(monkeypatch, non_negative):
    rng = np.random.default_rng(1)
    codes, momentum, gradient = (rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
                                 for _ in range(3))
    new = soft_threshold(momentum - 0.4 * gradient, 0.2, non_negative=non_negative, xp=np)
    expected = (new, new + 0.7 * (new - codes))
    for numba in (kernels.numba, None):
        monkeypatch.setattr(kernels, "numba", numba)
        buffers = [codes.copy(), momentum.copy()]
        kernels.fista_update(*buffers, gradient, step=0.4, threshold=0.2, inertia=0.7,
                             non_negative=non_negative, xp=np)
        for result, truth in zip(buffers, expected, strict=True):
            np.testing.assert_allclose(result, truth, atol=2e-6)
