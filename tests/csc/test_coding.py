import numpy as np
import pytest

from csc.coding import admm_sparse_code, fista_sparse_code, objective_terms

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
