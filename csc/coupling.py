"""The cogradient (CoGD) coupling rule, written once for NumPy, CuPy and torch tensors.

A sparse variable ``x`` (codes, a soft mask, BN scales) and a dense partner ``w`` (filters, the
next convolution) are grouped into units ``j`` (a filter, a channel). Plain alternating descent can
let ``x_j`` collapse to zero while ``w_j`` is still changing ("asynchronous convergence"); the
gradient through the product then vanishes and the unit never recovers. The rule scores both
variables per unit, flags the units whose sparse score is low while the partner score is high, and
moves them back toward an anchor (their values at the start of the epoch or outer iteration).

Every function takes 1-D score vectors (one entry per unit) or arrays whose first axis indexes
the units, and the namespace ``xp`` (``numpy``, ``cupy`` or ``torch``). Only operations that these
three share are used: ``abs``, ``sqrt``, ``where``, ``quantile``, ``min``/``max`` reductions and
``reshape``.

References
----------
Li, Zhang et al., "Cogradient Descent for Bilinear Optimization", CVPR 2020, arXiv:2006.09142.
"""

__all__ = [
    "minmax_normalize",
    "apply_kernel",
    "asynchronous_units",
    "backtrack",
    "revive_collapsed_masks",
]

KERNELS = ("linear", "polynomial", "sqrt")


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
