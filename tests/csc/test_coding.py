import numpy as np
import pytest

from csc.coding import admm_sparse_code, objective_terms, reconstruct_spatial
from csc.fista import fista_sparse_code

from .helpers import coding_problem, data_gradient

LAM = 0.2


def solve_admm(signal, weights, filters_hat, **kwargs):
    options = dict(sparsity_weight=LAM, rho_data=1.0, rho_sparse=2.0, max_iter=3000, tol=1e-7,
                   xp=np)
    options.update(kwargs)
    return admm_sparse_code(signal, weights, filters_hat, **options)


def test_admm_solution_satisfies_the_l1_optimality_conditions():
    signal, weights, filters_hat = coding_problem()
    result = solve_admm(signal, weights, filters_hat)
    assert result.converged
    codes = result.coefficients
    gradient = data_gradient(signal, weights, filters_hat, codes)
    active = codes != 0
    assert active.any() and (~active).any()
    # x_i != 0: gradient_i = -lam sign(x_i);  x_i == 0: |gradient_i| <= lam
    np.testing.assert_allclose(gradient[active], -LAM * np.sign(codes[active]), atol=2e-4)
    assert np.abs(gradient[~active]).max() <= LAM + 2e-4


def test_admm_and_fista_reach_the_same_objective():
    signal, weights, filters_hat = coding_problem(1)
    admm = solve_admm(signal, weights, filters_hat).coefficients
    fista = fista_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM, max_iter=4000,
                              xp=np).coefficients
    admm_value = sum(objective_terms(signal, weights, filters_hat, admm, sparsity_weight=LAM,
                                     xp=np))
    fista_value = sum(objective_terms(signal, weights, filters_hat, fista, sparsity_weight=LAM,
                                      xp=np))
    assert admm_value == pytest.approx(fista_value, rel=1e-6)


def test_non_negative_codes_stay_non_negative_and_satisfy_their_optimality_conditions():
    signal, weights, filters_hat = coding_problem(2)
    codes = solve_admm(signal, weights, filters_hat, non_negative=True).coefficients
    assert codes.min() >= 0 and codes.max() > 0
    gradient = data_gradient(signal, weights, filters_hat, codes)
    np.testing.assert_allclose(gradient[codes > 0], -LAM, atol=2e-4)
    assert gradient[codes == 0].min() >= -LAM - 2e-4


def test_masked_pixels_do_not_influence_the_codes():
    signal, weights, filters_hat = coding_problem(3)
    rng = np.random.default_rng(0)
    corrupted = np.where(weights > 0, signal, rng.standard_normal(signal.shape) * 100)
    clean = admm_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM, rho_data=1.0,
                             rho_sparse=2.0, max_iter=30, xp=np).coefficients
    dirty = admm_sparse_code(corrupted, weights, filters_hat, sparsity_weight=LAM, rho_data=1.0,
                             rho_sparse=2.0, max_iter=30, xp=np).coefficients
    np.testing.assert_array_equal(clean, dirty)


def test_float32_and_float64_agree_and_keep_their_dtype():
    results = {}
    for dtype in (np.float32, np.float64):
        signal, weights, filters_hat = coding_problem(4, dtype=dtype)
        codes = admm_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM, rho_data=1.0,
                                 rho_sparse=2.0, max_iter=50, xp=np).coefficients
        assert codes.dtype == dtype
        results[dtype] = sum(objective_terms(signal, weights, filters_hat, codes,
                                             sparsity_weight=LAM, xp=np))
    assert results[np.float32] == pytest.approx(results[np.float64], rel=1e-4)


def test_warm_start_continues_the_iteration():
    signal, weights, filters_hat = coding_problem(5)
    options = dict(sparsity_weight=LAM, rho_data=1.0, rho_sparse=2.0, xp=np)
    straight = admm_sparse_code(signal, weights, filters_hat, max_iter=20, **options)
    first = admm_sparse_code(signal, weights, filters_hat, max_iter=12, **options)
    resumed = admm_sparse_code(signal, weights, filters_hat, max_iter=8, state=first.state,
                               **options)
    np.testing.assert_allclose(resumed.coefficients, straight.coefficients, atol=1e-12)
    assert first.state.codes is not resumed.state.codes  # the input state was not modified


def test_admm_matches_sporco_mask_decoupling_on_the_same_problem(monkeypatch):
    cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    import sporco.fft

    monkeypatch.setattr(sporco.fft, "pyfftw_planner_effort", "FFTW_ESTIMATE")
    signal, weights, filters_hat = coding_problem(6, n_images=1)
    grid, s = signal.shape[-2:], 5
    filters = np.fft.irfft2(filters_hat, s=grid)[:, 0, :s, :s]
    options = cbpdn.ConvBPDNMaskDcpl.Options({"Verbose": False, "MaxMainIter": 3000,
                                              "RelStopTol": 1e-10, "rho": 2.0})
    solver = cbpdn.ConvBPDNMaskDcpl(filters.transpose(1, 2, 0), signal[0, 0], LAM,
                                    weights[0, 0], options)
    solver.solve()
    sporco_codes = np.moveaxis(solver.getcoef().squeeze(), -1, 0)[None]
    sporco_value = sum(objective_terms(signal, weights, filters_hat, sporco_codes,
                                       sparsity_weight=LAM, xp=np))
    ours = solve_admm(signal, weights, filters_hat).coefficients
    ours_value = sum(objective_terms(signal, weights, filters_hat, ours, sparsity_weight=LAM,
                                     xp=np))
    assert ours_value == pytest.approx(sporco_value, rel=1e-4)
    assert ours_value <= sporco_value * (1 + 1e-6)


def plain_relaxed_admm(signal, weights, filters_hat, *, rho_data, rho_sparse, relaxation,
                       n_iter):
    """Textbook relaxed ADMM for the splits Y1 = D X, Y2 = X with a dense solve per frequency."""
    grid = signal.shape[-2:]
    D = filters_hat[:, 0]  # (n_filters, Hp, Wq), one channel
    Y1 = np.zeros_like(signal)
    U1 = np.zeros_like(signal)
    Y2 = np.zeros((signal.shape[0], D.shape[0]) + grid)
    U2 = np.zeros_like(Y2)
    for _ in range(n_iter):
        B, Z = np.fft.rfft2(Y1 - U1), np.fft.rfft2(Y2 - U2)
        X_hat = np.empty_like(Z)
        for y in range(D.shape[1]):
            for x in range(D.shape[2]):
                d = D[:, y, x][None]  # (1, n_filters)
                lhs = rho_data * d.conj().T @ d + rho_sparse * np.eye(d.shape[1])
                rhs = rho_data * d.conj().T @ B[:, :, y, x].T + rho_sparse * Z[:, :, y, x].T
                X_hat[:, :, y, x] = np.linalg.solve(lhs, rhs).T
        X = np.fft.irfft2(X_hat, s=grid)
        DX = np.fft.irfft2(np.einsum("kyx,nkyx->nyx", D, X_hat)[:, None], s=grid)
        DX_relaxed = relaxation * DX + (1 - relaxation) * Y1
        X_relaxed = relaxation * X + (1 - relaxation) * Y2
        Y1 = (weights * signal + rho_data * (DX_relaxed + U1)) / (weights + rho_data)
        Y2 = np.sign(X_relaxed + U2) * np.maximum(np.abs(X_relaxed + U2) - LAM / rho_sparse, 0)
        U1 = U1 + DX_relaxed - Y1
        U2 = U2 + X_relaxed - Y2
    return Y2


@pytest.mark.parametrize("filter_size", [None, 5])
def test_admm_iterates_equal_textbook_relaxed_admm(filter_size):
    # the solver forms X = Y2 - U2 + D^H w and tracks D Y2, D U2 instead of transforming X;
    # the iterates must be those of the plain algorithm
    signal, weights, filters_hat = coding_problem(7, size=8)
    expected = plain_relaxed_admm(signal, weights, filters_hat, rho_data=1.3, rho_sparse=0.7,
                                  relaxation=1.6, n_iter=6)
    result = admm_sparse_code(signal, weights, filters_hat, sparsity_weight=LAM, rho_data=1.3,
                              rho_sparse=0.7, relaxation=1.6, max_iter=6,
                              filter_size=filter_size, xp=np)
    assert np.count_nonzero(expected) > 0
    np.testing.assert_allclose(result.coefficients, expected, atol=1e-10)


def test_sparse_synthesis_path_gives_the_fft_path_iterates_and_the_reconstruction():
    signal, weights, filters_hat = coding_problem(8)
    options = dict(sparsity_weight=LAM, rho_data=1.0, rho_sparse=2.0, max_iter=25, xp=np)
    by_fft = admm_sparse_code(signal, weights, filters_hat, **options)
    sparse = admm_sparse_code(signal, weights, filters_hat, filter_size=5, **options)
    np.testing.assert_allclose(sparse.coefficients, by_fft.coefficients, atol=1e-10)
    for result in (by_fft, sparse):
        np.testing.assert_allclose(
            result.reconstruction,
            reconstruct_spatial(filters_hat, result.coefficients, signal.shape[-2:], xp=np),
            atol=1e-10)
