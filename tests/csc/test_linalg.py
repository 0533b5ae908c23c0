import numpy as np
import pytest

from csc.linalg import capacitance_inverse, gram, woodbury_solve


@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("axis", [0, 1])
def test_woodbury_solve_matches_dense_solve(m, axis):
    """(rho_b I + rho_a A^H A) x = rhs at every frequency, A of size m x K."""
    rng = np.random.default_rng(m + 10 * axis)
    K, other, freq = 5, 2, (3, 2)
    operator = rng.standard_normal((m, K) + freq) + 1j * rng.standard_normal((m, K) + freq)
    rhs = rng.standard_normal((K, other) + freq) + 1j * rng.standard_normal((K, other) + freq)
    rho_a, rho_b = 0.3, 2.5

    def forward(v):  # (K, other) -> (m, other) or (other, m)
        out = np.einsum("mkyx,kcyx->mcyx", operator, v)
        return out if axis == 0 else np.swapaxes(out, 0, 1)

    def adjoint(w):
        w = w if axis == 0 else np.swapaxes(w, 0, 1)
        return np.einsum("mkyx,mcyx->kcyx", operator.conj(), w)

    inverse = capacitance_inverse(gram(operator, xp=np), rho_b / rho_a, xp=np)
    x, ax = woodbury_solve(rhs, inverse, forward, adjoint, rho_a=rho_a, rho_b=rho_b, axis=axis,
                           xp=np)
    for i in range(freq[0]):
        for j in range(freq[1]):
            A = operator[:, :, i, j]
            system = rho_b * np.eye(K) + rho_a * A.conj().T @ A
            expected = np.linalg.solve(system, rhs[:, :, i, j])
            np.testing.assert_allclose(x[:, :, i, j], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ax, forward(x), rtol=1e-10, atol=1e-12)
