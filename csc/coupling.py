"""The cogradient (CoGD) coupling rule, written once for NumPy, CuPy and torch tensors.

A sparse variable ``x`` (codes, a soft mask, BN scales) and a dense partner ``w`` (filters, the
next convolution) are grouped into units ``j`` (a filter, a channel). Plain alternating descent can
let ``x_j`` collapse to zero while ``w_j`` is still changing ("asynchronous convergence"); the
gradient through the product then vanishes and the unit never recovers. The rule scores both
variables per unit, flags the units whose sparse score is low while the partner score is high, and
moves them back toward an anchor (their values at the start of the epoch or outer iteration).

The generic functions take 1-D score vectors (one entry per unit) or arrays whose first axis
indexes the units, and the namespace ``xp`` (``numpy``, ``cupy`` or ``torch``); only operations
that these three share are used: ``abs``, ``sqrt``, ``where``, ``quantile``, ``min``/``max``
reductions and ``reshape``. ``nets.cogd`` applies them to BN scales and soft masks.

The rules of convolutional dictionary learning (NumPy or CuPy, on the padded grid of
:mod:`csc.fourier`) are built on them: :func:`filter_coupling` (units are filters),
:func:`reference_coupling` (the entry-wise rule of the reference code) and
:func:`couple_dictionary`, which applies either after a dictionary step.

References
----------
Li, Zhang et al., "Cogradient Descent for Bilinear Optimization", CVPR 2020, arXiv:2006.09142.
"""

from .fourier import spatial, spectra, synthesize
from .prox import project_filters
from .validation import check_choice

__all__ = [
    "KERNELS",
    "COUPLING_RULES",
    "minmax_normalize",
    "apply_kernel",
    "asynchronous_units",
    "backtrack",
    "revive_collapsed_masks",
    "filter_coupling",
    "filter_units",
    "backtrack_codes",
    "reference_statistics",
    "reference_positions",
    "code_change_squares",
    "reference_update",
    "reference_coupling",
    "couple_dictionary",
]

KERNELS = ("linear", "polynomial", "sqrt")
COUPLING_RULES = ("filter", "reference")


def minmax_normalize(scores, *, xp):
    """Rescale scores to [0, 1]; constant scores map to zeros.

    Parameters
    ----------
    scores : array of shape (n_units,)

    Notes
    -----
    No host synchronisation: the zero span is handled inside the array expression.
    """
    low, high = xp.min(scores), xp.max(scores)
    span = high - low
    return (scores - low) / xp.where(span > 0, span, span * 0 + 1)


def apply_kernel(scores, kernel="linear", *, power=2, xp):
    """Kernel on min-max normalised scores.

    Parameters
    ----------
    scores : array of shape (n_units,)
        Raw, non-negative scores.
    kernel : {'linear', 'polynomial', 'sqrt'}
        ``'linear'``: ``minmax(s)``; ``'polynomial'``: ``minmax(s) ** power``; ``'sqrt'``:
        ``minmax(sqrt(minmax(s)))``, the form of the reference pruning code.
    power : float
        Exponent of the polynomial kernel.

    Returns
    -------
    array of shape (n_units,), values in [0, 1]
    """
    normalized = minmax_normalize(scores, xp=xp)
    if kernel == "linear":
        return normalized
    if kernel == "polynomial":
        return normalized**power
    if kernel == "sqrt":
        return minmax_normalize(xp.sqrt(normalized), xp=xp)
    raise ValueError(f"`kernel` must be one of {KERNELS}, got {kernel!r}")


def asynchronous_units(
    sparse_scores, partner_scores, *, sparse_quantile=0.5, partner_quantile=0.5, kernel="linear",
    xp,
):
    """Units whose sparse variable collapsed while the partner is still active.

    ``J = {j : K(s_x)_j <= alpha and K(s_w)_j >= beta}`` with ``alpha``, ``beta`` the
    ``sparse_quantile`` and ``partner_quantile`` quantiles of the kernelised scores.

    Parameters
    ----------
    sparse_scores : array of shape (n_units,)
        Score of the sparse variable per unit (``||x_k||_1``, ``|gamma_c|``, mask value).
    partner_scores : array of shape (n_units,)
        Activity of the partner per unit (``||w_k - w_k_prev||``, ``sum_o ||W[o, c]||_1``).
    sparse_quantile, partner_quantile : float in [0, 1]
    kernel : {'linear', 'polynomial', 'sqrt'}

    Returns
    -------
    boolean array of shape (n_units,)
        All False when either score vector is constant (no unit stands out).

    Examples
    --------
    >>> import numpy as np
    >>> sparse = np.array([0.0, 1.0, 2.0, 3.0])    # unit 0 collapsed ...
    >>> partner = np.array([3.0, 2.0, 1.0, 0.0])   # ... while its partner still moves
    >>> asynchronous_units(sparse, partner, xp=np)
    array([ True,  True, False, False])
    """
    sparse_kernel = apply_kernel(sparse_scores, kernel, xp=xp)
    partner_kernel = apply_kernel(partner_scores, kernel, xp=xp)
    alpha = xp.quantile(sparse_kernel, sparse_quantile)
    beta = xp.quantile(partner_kernel, partner_quantile)
    # constant scores single out no unit (every BN gamma at its initial 1, say)
    informative = (xp.max(sparse_scores) > xp.min(sparse_scores)) & \
        (xp.max(partner_scores) > xp.min(partner_scores))
    return (sparse_kernel <= alpha) & (partner_kernel >= beta) & informative


def backtrack(values, anchor, units, *, rate=1.0, xp):
    """Move the flagged units of ``values`` toward ``anchor``: ``v + rate * (anchor - v)``.

    Parameters
    ----------
    values, anchor : arrays of the same shape (n_units, ...)
    units : boolean array of shape (n_units,)
    rate : float in (0, 1]
        1 restores the anchor exactly.

    Returns
    -------
    array of the shape of ``values`` (a new array; inputs are not modified)
    """
    selector = units.reshape((-1,) + (1,) * (values.ndim - 1))
    return xp.where(selector, values + rate * (anchor - values), values)


def revive_collapsed_masks(
    mask, partner_scores, *, collapse_below=0.5, revival=0.75, quantile=0.5, kernel="sqrt", xp
):
    """The reference pruning rule: revive collapsed mask entries whose partner is active.

    With ``ind = K(partner_scores)`` and ``alpha`` its ``quantile``, every unit with
    ``ind_j > alpha`` and ``mask_j < collapse_below`` is set to ``revival``.

    Parameters
    ----------
    mask : array of shape (n_units,)
        Soft mask values (non-negative).
    partner_scores : array of shape (n_units,)
        ``sum_o ||W[o, j]||_1`` of the convolution consuming channel ``j``.

    Returns
    -------
    array of shape (n_units,)
        New mask values (the input is not modified).
    """
    indicator = apply_kernel(partner_scores, kernel, xp=xp)
    alpha = xp.quantile(indicator, quantile)
    revive = (indicator > alpha) & (mask < collapse_below)
    return xp.where(revive, mask * 0 + revival, mask)


# -- convolutional dictionary learning ---------------------------------------------------------
def filter_coupling(filters, updated_filters, anchor_codes, codes, *, quantiles=(0.5, 0.5),
                    rate=1.0, xp):
    """Per-filter rule: backtrack the filters whose codes collapsed while the filter moved.

    Units are filters ``k``: sparse score ``||X_k||_1`` (over images), partner score
    ``||d_k - d_k_old||``; the flagged filters and their codes move back toward ``filters`` and
    ``anchor_codes`` by :func:`backtrack`.

    Parameters
    ----------
    filters, updated_filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
        Before and after the dictionary step.
    anchor_codes, codes : ndarray of shape (n_images, n_filters, Hp, Wp)
        The codes of the previous outer iteration and the current ones.
    quantiles : (float, float)
        ``sparse_quantile`` and ``partner_quantile`` of :func:`asynchronous_units`.
    rate : float in (0, 1]

    Returns
    -------
    (filters, codes, n_flagged)
        New arrays (between two feasible points, so the filters stay feasible).
    """
    units = filter_units(xp.sum(xp.abs(codes), axis=(0, 2, 3)), filters, updated_filters,
                         quantiles=quantiles, xp=xp)
    return (backtrack(updated_filters, filters, units, rate=rate, xp=xp),
            backtrack_codes(codes, anchor_codes, units, rate=rate, xp=xp),
            int(xp.count_nonzero(units)))


def filter_units(code_l1, filters, updated_filters, *, quantiles=(0.5, 0.5), xp):
    """The filters flagged by the per-filter rule (:func:`filter_coupling`).

    Parameters
    ----------
    code_l1 : ndarray of shape (n_filters,)
        ``||X_k||_1`` summed over the images (a sum over image groups in a distributed fit).
    filters, updated_filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
    quantiles : (float, float)

    Returns
    -------
    boolean ndarray of shape (n_filters,)
    """
    partner_scores = xp.sqrt(xp.sum((updated_filters - filters) ** 2, axis=(1, 2, 3)))
    return asynchronous_units(code_l1, partner_scores, sparse_quantile=quantiles[0],
                              partner_quantile=quantiles[1], xp=xp)


def backtrack_codes(codes, anchor_codes, units, *, rate=1.0, xp):
    """:func:`backtrack` of the code maps ``(n_images, n_filters, Hp, Wp)`` of flagged filters."""
    return backtrack(codes.swapaxes(0, 1), anchor_codes.swapaxes(0, 1), units, rate=rate,
                     xp=xp).swapaxes(0, 1)


def reference_coupling(signal, weights, filters, updated_filters, anchor_codes, codes, *,
                       iteration, max_iter, xp):
    """The CSC rule of the CoGD reference code (``backtracking_btb.m``), see SPEC 3.

    At the ``m`` largest entries of the image-summed codes (on the padded grid),
    ``d += 0.1 * c * p * d_old`` with ``c = 0.05 * sum(W (D X - S))`` and
    ``p = min(||X[:, pos] - X_old[:, pos]|| / (|d - d_old| + 1e-5), 1)``, where
    ``m = min(round(alpha_i * size), 255)`` and ``alpha_i = (T - i) / (3 T)``. Kept as in the
    reference: the count saturates at 255 (a ``uint8`` cast), the positions are taken on the
    padded grid, so most fall outside the filter window where ``d_old = 0`` and nothing changes.
    Not kept: the reference skips the largest entry and decodes positions with an off-by-one
    stride. The result is not projected back onto the constraint set (:func:`couple_dictionary`
    does: without it the filters' norms grew to 2.27 on the fruit inpainting protocol).

    Parameters
    ----------
    signal, weights : ndarray of shape (n_images, n_channels, Hp, Wp)
    filters, updated_filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
    anchor_codes, codes : ndarray of shape (n_images, n_filters, Hp, Wp)
    iteration, max_iter : int
        Outer iteration ``i`` (from 1) and their number ``T``.

    Returns
    -------
    (filters, codes, n_changed)
        ``codes`` is returned unchanged; ``n_changed`` counts the entries with ``d_old != 0``.
    """
    residual_sum, summed_codes = reference_statistics(signal, weights, updated_filters, codes,
                                                      xp=xp)
    positions = reference_positions(summed_codes, iteration=iteration, max_iter=max_iter, xp=xp)
    if positions is None:
        return updated_filters, codes, 0
    new_filters, n_changed = reference_update(
        filters, updated_filters, residual_sum, positions,
        code_change_squares(codes, anchor_codes, positions, xp=xp), xp=xp)
    return new_filters, codes, n_changed


# The reference rule in parts, so that the sums over images can be taken group by group (a
# distributed fit adds the groups' statistics and code changes; :func:`reference_coupling`
# composes the parts on all images at once).
def reference_statistics(signal, weights, updated_filters, codes, *, xp):
    """Sums over images of the reference rule: ``sum W (D X - S)`` and the codes ``sum_n X_n``.

    Returns
    -------
    residual_sum : float
    summed_codes : ndarray of shape (n_filters, Hp, Wp)
    """
    grid = signal.shape[-2:]
    reconstruction = spatial(synthesize(spectra(updated_filters, xp=xp), spectra(codes, xp=xp),
                                        xp=xp), grid, xp=xp)
    residual_sum = float(xp.sum(weights * (reconstruction - signal), dtype=xp.float64))
    return residual_sum, xp.sum(codes, axis=0)


def reference_positions(summed_codes, *, iteration, max_iter, xp):
    """Filter entries ``(k, y, x)`` of the ``m`` largest image-summed codes, or None if ``m = 0``."""
    alpha = max(max_iter - iteration, 0) / (3 * max_iter)
    count = min(int(alpha * summed_codes.size + 0.5), 255)
    if count == 0:
        return None
    positions = xp.argpartition(summed_codes.ravel(), summed_codes.size - count)[-count:]
    return xp.unravel_index(positions, summed_codes.shape)


def code_change_squares(codes, anchor_codes, positions, *, xp):
    """``sum_n (X[n, k, y, x] - X_old[n, k, y, x])^2`` at the positions, shape ``(count,)``."""
    k, y, x = positions
    return xp.sum((codes[:, k, y, x] - anchor_codes[:, k, y, x]) ** 2, axis=0)


def reference_update(filters, updated_filters, residual_sum, positions, code_change, *, xp):
    """The filter change of the reference rule at the positions.

    Returns
    -------
    (filters, n_changed)
        New filters (not projected) and the number of entries with ``d_old != 0``.
    """
    k, y, x = positions
    c = 0.05 * residual_sum
    previous = filters[k, :, y, x]  # (count, n_channels)
    current = updated_filters[k, :, y, x]
    p = xp.minimum(xp.sqrt(code_change)[:, None] / (xp.abs(current - previous) + 1e-5), 1)
    new_filters = updated_filters.copy()
    new_filters[k, :, y, x] = current + 0.1 * c * p * previous
    return new_filters, int(xp.count_nonzero(xp.any(previous != 0, axis=1)))


def couple_dictionary(signal, weights, filters, updated_filters, anchor_codes, codes, support, *,
                      rule="reference", iteration, max_iter, quantiles=(0.5, 0.5), rate=1.0, xp):
    """Apply a CoGD rule after a dictionary step; the filters returned are feasible.

    Parameters
    ----------
    signal, weights, filters, updated_filters, anchor_codes, codes
        As in :func:`reference_coupling`.
    support : ndarray of shape (Hp, Wp)
        Indicator of the filter window (:func:`csc.prox.filter_support_mask`).
    rule : {'reference', 'filter'}
        :func:`reference_coupling` (projected back onto the constraint set) or
        :func:`filter_coupling`.
    iteration, max_iter : int
        Of the reference rule.
    quantiles, rate
        Of the per-filter rule.

    Returns
    -------
    (filters, codes, n_backtracked)
    """
    check_choice("rule", rule, COUPLING_RULES)
    if rule == "filter":
        return filter_coupling(filters, updated_filters, anchor_codes, codes,
                               quantiles=quantiles, rate=rate, xp=xp)
    new_filters, new_codes, n_changed = reference_coupling(
        signal, weights, filters, updated_filters, anchor_codes, codes, iteration=iteration,
        max_iter=max_iter, xp=xp)
    return project_filters(new_filters, support, xp=xp), new_codes, n_changed
