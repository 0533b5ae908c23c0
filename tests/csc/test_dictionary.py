import numpy as np
import pytest

from csc.coding import objective_terms
from csc.dictionary import DictionaryState, admm_dictionary_update
from csc.fourier import filter_adjoint, spatial, spectra, synthesize
from csc.prox import filter_support_mask, project_filters


def dictionary_problem(seed=0, n_images=3, size=14, n_filters=4, s=4):
    rng = np.random.default_rng(seed)
    grid = (size + s - 1,) * 2
    codes = rng.standard_normal((n_images, n_filters) + grid) * (rng.random(
        (n_images, n_filters) + grid) < 0.1)
    signal = np.zeros((n_images, 1) + grid)
    signal[..., s - 1:, s - 1:] = rng.standard_normal((n_images, 1, size, size))
    weights = np.zeros_like(signal)
    weights[..., s - 1:, s - 1:] = rng.random((n_images, 1, size, size)) > 0.2
    support = filter_support_mask(grid, s, dtype=np.float64, xp=np)
    filters = project_filters(rng.standard_normal((n_filters, 1) + grid), support, xp=np)
    state = DictionaryState(np.zeros_like(signal), np.zeros_like(signal), filters)
    return signal * weights, weights, codes, state, support


def solve(problem, solver, max_iter=1500):
    signal, weights, codes, state, support = problem
    return admm_dictionary_update(signal, weights, codes, state, support, rho_data=1.0,
                                  rho_filter=5.0, max_iter=max_iter, solver=solver, xp=np).filters


def projected_gradient_residual(problem, filters, step=0.05):
    """``||d - P_C(d - t grad f(d))||``: zero exactly at the constrained minimiser."""
    signal, weights, codes, _, support = problem
    grid = signal.shape[-2:]
    codes_hat = spectra(codes, xp=np)
    residual = weights * (spatial(synthesize(spectra(filters, xp=np), codes_hat, xp=np), grid,
                                  xp=np) - signal)
    gradient = spatial(filter_adjoint(codes_hat, spectra(residual, xp=np), xp=np), grid, xp=np)
    return np.linalg.norm(filters - project_filters(filters - step * gradient, support, xp=np))


@pytest.mark.parametrize("solver", ["woodbury", "consensus"])
def test_dictionary_update_reaches_the_constrained_minimiser(solver):
    problem = dictionary_problem()
    filters = solve(problem, solver)
    support = problem[-1]
    assert np.all(filters * (1 - support) == 0)
    assert np.all(np.sqrt((filters**2).sum(axis=(1, 2, 3))) <= 1 + 1e-12)
    start = projected_gradient_residual(problem, problem[3].filters)
    assert projected_gradient_residual(problem, filters) < 1e-4 * start


def test_woodbury_and_consensus_agree():
    problem = dictionary_problem(1)
    signal, weights, codes, _, _ = problem
    values = [sum(objective_terms(signal, weights, spectra(solve(problem, solver), xp=np), codes,
                                  sparsity_weight=1.0, xp=np))
              for solver in ("woodbury", "consensus")]
    assert values[0] == pytest.approx(values[1], rel=1e-6)


@pytest.mark.parametrize("solver", ["woodbury", "consensus"])
def test_a_few_iterations_decrease_the_data_term(solver):
    problem = dictionary_problem(2)
    signal, weights, codes, state, _ = problem
    before = objective_terms(signal, weights, spectra(state.filters, xp=np), codes,
                             sparsity_weight=1.0, xp=np)[0]
    after = objective_terms(signal, weights, spectra(solve(problem, solver, 10), xp=np), codes,
                            sparsity_weight=1.0, xp=np)[0]
    assert after < before
