"""Biharmonic inpainting with its sparse system factorised once per mask.

The equations are those of :func:`skimage.restoration.inpaint_biharmonic`: at every missing
pixel the biharmonic stencil (``laplace(laplace(delta))``, 13 points, truncated at the image's
border as scikit-image truncates it) applied to the image is zero; the observed pixels the
stencils reach go to the right-hand side, and the result is clipped to the range of the observed
values. The system ``A u = -B k`` (``u`` the missing pixels, ``k`` the image) depends on the mask
only, so :class:`BiharmonicSolver` factorises ``A`` once and fills any number of planes that share
the mask: the restoration fills the image and later the residual of its model on the same mask
(:func:`restoration.split.fill_residual`), which scikit-image would factorise twice.
"""

import functools

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import splu

__all__ = ["BiharmonicSolver"]

RADIUS = 2  # of the biharmonic stencil


@functools.cache
def _stencil(up, down, left, right):
    """Offsets ``(dy, dx)`` and coefficients of the biharmonic stencil of a pixel with ``up``,
    ``down``, ``left``, ``right`` pixels (at most :data:`RADIUS`) on each side inside the
    image: ``laplace(laplace(delta))`` on that window (reflect boundary, as scikit-image)."""
    delta = np.zeros((up + down + 1, left + right + 1))
    delta[up, left] = 1.0
    coefficients = ndimage.laplace(ndimage.laplace(delta))
    rows, cols = np.nonzero(coefficients)
    return tuple(zip(rows - up, cols - left, coefficients[rows, cols], strict=True))


def _factorise(matrix):
    """SuperLU factors of the system ``matrix`` (CSC): ordered by minimum degree on
    ``A + A^T`` without pivoting, as the structurally symmetric stencil allows (512x512 at 50 /
    75 / 90 % missing, the whole fill: 50 / 279 / 567 MiB of factors and 0.92 / 2.8 / 5.5 s,
    against 125 / 634 / 1084 MiB and 1.0 / 5.5 / 11.8 s with SuperLU's default column ordering
    and partial pivoting; benchmarks/results/biharmonic_fill.md); with the default when a
    pivot vanishes or the factors do not solve a probe system to the square root of the
    precision (1.5e-8 in float64)."""
    try:
        factors = splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options={"SymmetricMode": True})
        probe = np.linspace(1.0, 2.0, matrix.shape[0], dtype=matrix.dtype)
        error = np.max(np.abs(factors.solve(matrix @ probe) - probe))
        if error <= np.sqrt(np.finfo(matrix.dtype).eps):  # False for NaN
            return factors
    except RuntimeError:  # an exactly singular pivot
        pass
    return splu(matrix)


class BiharmonicSolver:
    """Biharmonic inpainting of the missing pixels of one mask, factorised once.

    Parameters
    ----------
    observed : ndarray of bool of shape (H, W)
        At least one pixel observed.
    dtype : numpy dtype, default float64
        Precision of the factorisation and of the results (scikit-image solves in the image's
        float dtype).

    Examples
    --------
    >>> observed = np.ones((6, 6), bool)
    >>> observed[2:4, 2:4] = False
    >>> solver = BiharmonicSolver(observed)
    >>> ramp = np.add.outer(np.arange(6.0), np.arange(6.0)) / 10
    >>> bool(np.allclose(solver.fill(np.where(observed, ramp, 0.0)), ramp))
    True
    """

    def __init__(self, observed, dtype=np.float64):
        observed = np.asarray(observed, bool)
        if observed.ndim != 2 or not observed.any():
            raise ValueError(f"`observed` must be a 2-D mask with an observed pixel, got shape "
                             f"{observed.shape}")
        self.observed = observed
        self.dtype = np.dtype(dtype)
        height, width = observed.shape
        missing = np.flatnonzero(~observed)
        self.missing = missing
        if len(missing) == 0:
            return
        unknown = np.full(observed.size, -1)
        unknown[missing] = np.arange(len(missing))
        ys, xs = np.divmod(missing, width)
        extents = np.stack([np.minimum(ys, RADIUS), np.minimum(height - 1 - ys, RADIUS),
                            np.minimum(xs, RADIUS), np.minimum(width - 1 - xs, RADIUS)])
        classes, inverse = np.unique(extents, axis=1, return_inverse=True)
        inverse = inverse.ravel()
        rows, neighbours, coefficients = [], [], []  # every stencil entry of every row
        for number, extent in enumerate(classes.T):  # at most 25 border classes
            members = np.flatnonzero(inverse == number)
            for dy, dx, coefficient in _stencil(*map(int, extent)):
                rows.append(members)
                neighbours.append(missing[members] + dy * width + dx)
                coefficients.append(np.full(len(members), coefficient, self.dtype))
        rows, neighbours, coefficients = map(np.concatenate, (rows, neighbours, coefficients))
        into = ~observed.ravel()[neighbours]  # entries on unknowns: A; on observed pixels: B
        n = len(missing)
        matrix = sparse.csc_matrix((coefficients[into], (rows[into], unknown[neighbours[into]])),
                                   shape=(n, n))
        coupling = sparse.csr_matrix((coefficients[~into], (rows[~into], neighbours[~into])),
                                     shape=(n, observed.size))
        self._factors = _factorise(matrix)
        self._coupling = coupling

    def fill(self, values):
        """The planes ``values`` with their missing pixels inpainted.

        Parameters
        ----------
        values : ndarray of shape (H, W) or (C, H, W)
            Read at the observed pixels only.

        Returns
        -------
        ndarray of the shape of ``values``, of the solver's dtype
            Observed pixels unchanged; missing ones clipped, per plane, to the range of the
            observed values.
        """
        values = np.asarray(values)
        if values.shape[-2:] != self.observed.shape:
            raise ValueError(f"`values` must end with the mask's shape {self.observed.shape}, "
                             f"got {values.shape}")
        filled = values.reshape((-1, self.observed.size)).astype(self.dtype)  # (C, H W), a copy
        if len(self.missing):
            # B has no entry on a missing pixel, so what the planes hold there is never read
            solved = self._factors.solve(np.ascontiguousarray(-(self._coupling @ filled.T)))
            kept = filled[:, self.observed.ravel()]
            low, high = kept.min(axis=1, keepdims=True), kept.max(axis=1, keepdims=True)
            filled[:, self.missing] = np.clip(solved.T, low, high)
        return filled.reshape(values.shape)
