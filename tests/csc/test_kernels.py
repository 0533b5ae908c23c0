import numpy as np
import pytest

import csc._kernels as kernels
from csc.fourier import pad_filters, spatial, spectra, synthesize
from csc.linalg import capacitance_inverse, gram
from csc.prox import soft_threshold

BOTH_PATHS = [kernels.numba, None]


def complex_normal(rng, shape, dtype=np.complex128):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("non_negative", [False, True])
def test_shrink_dual_update_matches_its_definition_on_both_paths(monkeypatch, non_negative):
    rng = np.random.default_rng(0)
    correlation, Y, U = (rng.standard_normal((3, 4, 5, 6)).astype(np.float32) for _ in range(3))
    X = Y - U + correlation  # the primal iterate the kernel stands for
    v = 1.8 * X + (1 - 1.8) * Y + U
    expected_Y = soft_threshold(v, 0.3, non_negative=non_negative, xp=np)
    for numba in BOTH_PATHS:
        monkeypatch.setattr(kernels, "numba", numba)
        new_Y, new_U = Y.copy(), U.copy()
        row_nnz = kernels.shrink_dual_update(correlation, new_Y, new_U, relaxation=1.8,
                                             threshold=0.3, non_negative=non_negative, xp=np)
        np.testing.assert_allclose(new_Y, expected_Y, atol=2e-6)
        np.testing.assert_allclose(new_U, v - expected_Y, atol=2e-6)
        np.testing.assert_array_equal(row_nnz, np.count_nonzero(new_Y, axis=-1))


@pytest.mark.parametrize("non_negative", [False, True])
def test_fista_update_matches_its_definition_on_both_paths(monkeypatch, non_negative):
    rng = np.random.default_rng(1)
    codes, momentum, gradient = (rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
                                 for _ in range(3))
    new = soft_threshold(momentum - 0.4 * gradient, 0.2, non_negative=non_negative, xp=np)
    expected = (new, new + 0.7 * (new - codes))
    for numba in BOTH_PATHS:
        monkeypatch.setattr(kernels, "numba", numba)
        buffers = [codes.copy(), momentum.copy()]
        row_nnz, along, squared = kernels.fista_update(
            *buffers, gradient, step=0.4, threshold=0.2, inertia=0.7, non_negative=non_negative,
            xp=np)
        for result, truth in zip(buffers, expected, strict=True):
            np.testing.assert_allclose(result, truth, atol=2e-6)
        np.testing.assert_array_equal(row_nnz, np.count_nonzero(buffers[0], axis=-1))
        move = new.astype(np.float64) - momentum
        assert along == pytest.approx(np.sum(move * gradient), rel=1e-5)
        assert squared == pytest.approx(np.sum(move * move), rel=1e-5)


def brute_force_synthesis(codes, filters):
    """Circular ``sum_k d_k (*) x_k`` by explicit shifts, one filter tap at a time."""
    n_filters, n_channels, size, _ = filters.shape
    out = np.zeros((codes.shape[0], n_channels) + codes.shape[2:])
    for k in range(n_filters):
        for c in range(n_channels):
            for i in range(size):
                for j in range(size):
                    out[:, c] += filters[k, c, i, j] * np.roll(codes[:, k], (i, j), axis=(-2, -1))
    return out


@pytest.mark.parametrize("n_channels", [1, 3])
def test_sparse_synthesis_is_the_circular_convolution(n_channels):
    rng = np.random.default_rng(2)
    codes = rng.standard_normal((2, 4, 9, 11)) * (rng.random((2, 4, 9, 11)) < 0.1)
    codes[1, 3, -1, -1] = 2.0  # wraps around both axes
    filters = rng.standard_normal((4, n_channels, 4, 4))
    result = kernels.sparse_synthesis(codes, np.count_nonzero(codes, axis=-1), filters, xp=np)
    np.testing.assert_allclose(result, brute_force_synthesis(codes, filters), atol=1e-12)
    # and it equals the FFT synthesis of the package
    by_fft = spatial(synthesize(spectra(pad_filters(filters, codes.shape[-2:], xp=np), xp=np),
                                spectra(codes, xp=np), xp=np), codes.shape[-2:], xp=np)
    np.testing.assert_allclose(result, by_fft, atol=1e-12)


def test_gram_kernel_matches_the_expression(monkeypatch):
    operator_hat = complex_normal(np.random.default_rng(3), (5, 7, 4, 3), np.complex64)
    expected = np.einsum("ikyx,jkyx->ijyx", operator_hat, operator_hat.conj())
    for numba in BOTH_PATHS:
        monkeypatch.setattr(kernels, "numba", numba)
        np.testing.assert_allclose(kernels.gram(operator_hat, xp=np), expected, atol=1e-4)


@pytest.mark.parametrize("n_channels", [1, 2])
@pytest.mark.parametrize("bounds", [(0, 3), (0, 1, 3)])  # one group; groups of 1 and 2 images
def test_consensus_filter_step_solves_each_groups_normal_equations_on_both_paths(
        monkeypatch, n_channels, bounds):
    rng = np.random.default_rng(4)
    n_images, n_filters, freq = 3, 5, (4, 3)
    n_groups, size = len(bounds) - 1, max(np.diff(bounds))
    codes_hat = complex_normal(rng, (n_images, n_filters) + freq)
    data_hat = complex_normal(rng, (n_images, n_channels) + freq)
    filters_hat = complex_normal(rng, (n_filters, n_channels) + freq)
    duals_hat = complex_normal(rng, (n_groups, n_filters, n_channels) + freq)
    rho_data, rho_filter, relaxation = 1.5, [4.0, 2.5][:n_groups], 1.7
    codes_gram = np.zeros((n_groups, size, size) + freq, dtype=codes_hat.dtype)
    inverse = np.zeros_like(codes_gram)
    groups = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
    expected_duals, expected_Xd = duals_hat.copy(), np.empty_like(data_hat)
    for g, group in enumerate(groups):
        m = group.stop - group.start
        codes_gram[g, :m, :m] = gram(codes_hat[group], xp=np)
        inverse[g, :m, :m] = capacitance_inverse(codes_gram[g, :m, :m], rho_filter[g] / rho_data,
                                                 xp=np)
        for y in range(freq[0]):
            for x in range(freq[1]):
                X = codes_hat[group, :, y, x]  # (m_g, n_filters)
                lhs = rho_data * X.conj().T @ X + rho_filter[g] * np.eye(n_filters)
                rhs = rho_data * X.conj().T @ data_hat[group, :, y, x] + rho_filter[g] * (
                    filters_hat[:, :, y, x] - duals_hat[g, :, :, y, x])
                d = np.linalg.solve(lhs, rhs)
                expected_Xd[group, :, y, x] = X @ d
                expected_duals[g, :, :, y, x] += (relaxation * d
                                                  + (1 - relaxation) * filters_hat[:, :, y, x])
    expected_average = np.tensordot(np.divide(rho_filter, sum(rho_filter)), expected_duals, 1)
    for numba in BOTH_PATHS:
        monkeypatch.setattr(kernels, "numba", numba)
        duals = duals_hat.copy()
        average_hat, Xd_hat = kernels.consensus_filter_step(
            codes_hat, data_hat, filters_hat, duals, inverse, codes_gram=codes_gram,
            bounds=bounds, rho_data=rho_data, rho_filter=rho_filter, relaxation=relaxation,
            xp=np)
        np.testing.assert_allclose(duals, expected_duals, atol=1e-10)
        np.testing.assert_allclose(Xd_hat, expected_Xd, atol=1e-10)
        np.testing.assert_allclose(average_hat, expected_average, atol=1e-10)


def test_fused_synthesis_matches_the_einsum_on_both_paths(monkeypatch):
    from csc.fourier import synthesize as reference

    rng = np.random.default_rng(7)
    filters_hat, codes_hat = ((rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
                              .astype(np.complex64)
                              for shape in ((5, 2, 6, 4), (3, 5, 6, 4)))
    expected = reference(filters_hat, codes_hat, xp=np)
    for numba in BOTH_PATHS:
        monkeypatch.setattr(kernels, "numba", numba)
        result = kernels.synthesize(filters_hat, codes_hat, xp=np)
        assert result.shape == (3, 2, 6, 4)
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)
