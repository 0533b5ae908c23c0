import numpy as np
import pytest

from csc.coding import objective_terms
from csc.dictionary import admm_dictionary_update, image_groups
from csc.fourier import filter_adjoint, spatial, spectra, synthesize
from csc.prox import project_filters

from .helpers import dictionary_problem

GROUP_SIZES = [None, 2, 1]  # 3 images: one group (Woodbury), groups of 1 and 2 images, one each


def solve(problem, group_size, max_iter=3000):
    signal, weights, codes, state, support = problem
    return admm_dictionary_update(signal, weights, codes, state, support, rho_data=1.0,
                                  rho_filter=5.0, max_iter=max_iter, group_size=group_size,
                                  xp=np).filters


def projected_gradient_residual(problem, filters, step=0.05):
    """``||d - P_C(d - t grad f(d))||``: zero exactly at the constrained minimiser."""
    signal, weights, codes, _, support = problem
    grid = signal.shape[-2:]
    codes_hat = spectra(codes, xp=np)
    residual = weights * (spatial(synthesize(spectra(filters, xp=np), codes_hat, xp=np), grid,
                                  xp=np) - signal)
    gradient = spatial(filter_adjoint(codes_hat, spectra(residual, xp=np), xp=np), grid, xp=np)
    return np.linalg.norm(filters - project_filters(filters - step * gradient, support, xp=np))


@pytest.mark.parametrize("group_size", GROUP_SIZES)
def test_dictionary_update_reaches_the_constrained_minimiser(group_size):
    problem = dictionary_problem()
    filters = solve(problem, group_size)
    support = problem[-1]
    assert np.all(filters * (1 - support) == 0)
    assert np.all(np.sqrt((filters**2).sum(axis=(1, 2, 3))) <= 1 + 1e-12)
    start = projected_gradient_residual(problem, problem[3].filters)
    assert projected_gradient_residual(problem, filters) < 1e-4 * start


def test_every_grouping_reaches_the_same_objective():
    problem = dictionary_problem(1)
    signal, weights, codes, _, _ = problem
    values = [sum(objective_terms(signal, weights, spectra(solve(problem, size), xp=np), codes,
                                  sparsity_weight=1.0, xp=np))
              for size in GROUP_SIZES]
    assert values[1] == pytest.approx(values[0], rel=1e-6)
    assert values[2] == pytest.approx(values[0], rel=1e-6)


@pytest.mark.parametrize("group_size", GROUP_SIZES)
def test_a_few_iterations_decrease_the_data_term(group_size):
    problem = dictionary_problem(2)
    signal, weights, codes, state, _ = problem
    before = objective_terms(signal, weights, spectra(state.filters, xp=np), codes,
                             sparsity_weight=1.0, xp=np)[0]
    after = objective_terms(signal, weights, spectra(solve(problem, group_size, 10), xp=np), codes,
                            sparsity_weight=1.0, xp=np)[0]
    assert after < before


@pytest.mark.parametrize("n_images, group_size, sizes", [
    (10, 10, [10]), (10, 3, [2, 2, 3, 3]), (160, 10, [10] * 16), (7, 1, [1] * 7), (5, 8, [5]),
])
def test_image_groups_cover_the_images_in_near_equal_blocks(n_images, group_size, sizes):
    groups = image_groups(n_images, group_size)
    assert sorted(group.stop - group.start for group in groups) == sizes
    assert groups[0].start == 0 and groups[-1].stop == n_images
    assert all(a.stop == b.start for a, b in zip(groups[:-1], groups[1:], strict=True))
