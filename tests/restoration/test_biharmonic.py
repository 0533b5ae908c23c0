import numpy as np
import pytest
from skimage.restoration import inpaint_biharmonic

from restoration.biharmonic import BiharmonicSolver
from restoration.split import biharmonic_fill, fill_residual


@pytest.mark.parametrize("shape", [(3, 7), (6, 6), (40, 33)])
def test_fill_solves_scikit_image_equations(shape):
    """Same system as scikit-image, border stencils included (every pixel of a 3x7 image is
    near the border), and the same clipping to the observed range."""
    rng = np.random.default_rng(sum(shape))
    image = rng.random(shape)
    observed = rng.random(shape) >= 0.5
    observed[0, 0] = True
    expected = inpaint_biharmonic(np.where(observed, image, 0), ~observed)
    filled = BiharmonicSolver(observed).fill(np.where(observed, image, np.nan))
    np.testing.assert_allclose(filled, expected, rtol=0, atol=1e-12)


def test_float32_solves_in_float32_like_scikit_image():
    rng = np.random.default_rng(3)
    image = rng.random((30, 20)).astype(np.float32)
    observed = rng.random(image.shape) >= 0.3
    filled = BiharmonicSolver(observed, np.float32).fill(image)
    assert filled.dtype == np.float32
    expected = inpaint_biharmonic(np.where(observed, image, 0), ~observed)
    np.testing.assert_allclose(filled, expected, atol=1e-5)


def test_planes_share_one_factorisation():
    rng = np.random.default_rng(4)
    planes = rng.random((3, 25, 25))
    observed = rng.random((25, 25)) >= 0.6
    solver = BiharmonicSolver(observed)
    together = solver.fill(planes)
    for plane, result in zip(planes, together, strict=True):
        np.testing.assert_array_equal(result, solver.fill(plane))


def test_fill_and_residual_reuse_the_factorisation_of_their_mask():
    rng = np.random.default_rng(5)
    image = rng.random((1, 32, 32))
    observed = np.broadcast_to(rng.random((32, 32)) >= 0.5, image.shape)
    solvers = {}
    biharmonic_fill(image, observed, solvers=solvers)
    (key, solver), = solvers.items()
    model = np.zeros((32, 32))
    corrected = fill_residual(model, image[0], observed[0], solvers=solvers)
    assert list(solvers) == [key] and solvers[key] is solver
    fill = inpaint_biharmonic(np.where(observed[0], image[0], 0), ~observed[0])
    np.testing.assert_allclose(corrected, np.where(observed[0], model, fill), atol=1e-12)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="`observed`"):
        BiharmonicSolver(np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="`values`"):
        BiharmonicSolver(np.ones((4, 4), bool)).fill(np.zeros((4, 5)))


def test_factorisation_pivots_where_the_symmetric_ordering_fails():
    """A zero pivot of the ordering without pivoting: the default SuperLU factors solve it."""
    from scipy import sparse

    from restoration.biharmonic import _factorise

    swap = sparse.csc_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_allclose(_factorise(swap).solve(np.array([1.0, 2.0])), [2.0, 1.0])
