"""Per-frequency solves of ``(rho_b I + rho_a A^H A) x = rhs`` by the Woodbury identity.

At every frequency ``f`` the CSC normal equations have the form
``(rho_b I + rho_a A_f^H A_f) x_f = rhs_f`` with a wide ``A_f`` (``m x K``, ``m`` = channels for
the coding step, images for the dictionary step). With the capacitance
``C_f = (rho_b / rho_a) I_m + A_f A_f^H``,

    x_f = (rhs_f - A_f^H C_f^{-1} A_f rhs_f) / rho_b,    A_f x_f = C_f^{-1} A_f rhs_f / rho_a,

so one ``m x m`` inverse per frequency (Sherman-Morrison when ``m = 1``), computed once per solver
call, serves every inner iteration. Frequencies are a batch axis: no Python loop over them.
"""

__all__ = ["gram", "capacitance_inverse", "apply_capacitance", "woodbury_solve"]


def gram(operator_hat, *, xp):
    """``A_f A_f^H`` for every frequency.

    Parameters
    ----------
    operator_hat : ndarray of shape (m, K, Hp, Wq)
        ``A_f[i, k] = operator_hat[i, k, f]``.

    Returns
    -------
    ndarray of shape (m, m, Hp, Wq)
    """
    if operator_hat.shape[0] == 1:
        return xp.sum((operator_hat * operator_hat.conj()).real, axis=1, keepdims=True)
    batched = xp.moveaxis(operator_hat, (0, 1), (-2, -1))  # (Hp, Wq, m, K)
    product = xp.matmul(batched, xp.swapaxes(batched, -1, -2).conj())
    return xp.moveaxis(product, (-2, -1), (0, 1))


def capacitance_inverse(gram_matrix, shift, *, xp):
    """``(shift I + G_f)^{-1}`` for every frequency.

    Parameters
    ----------
    gram_matrix : ndarray of shape (m, m, Hp, Wq)
        Hermitian positive semi-definite per frequency (:func:`gram`).
    shift : float
        ``rho_b / rho_a > 0``.

    Returns
    -------
    ndarray of shape (m, m, Hp, Wq)
    """
    if gram_matrix.shape[0] == 1:
        return 1 / (shift + gram_matrix)
    batched = xp.moveaxis(gram_matrix, (0, 1), (-2, -1))
    eye = xp.eye(gram_matrix.shape[0], dtype=gram_matrix.dtype)
    return xp.moveaxis(xp.linalg.inv(batched + shift * eye), (-2, -1), (0, 1))


def apply_capacitance(inverse, vectors, *, axis=0, xp):
    """Multiply by the per-frequency capacitance inverse along ``axis`` of ``vectors``.

    Parameters
    ----------
    inverse : ndarray of shape (m, m, Hp, Wq)
    vectors : ndarray of shape (a, b, Hp, Wq)
        ``vectors.shape[axis] == m``.
    axis : {0, 1}

    Returns
    -------
    ndarray of the shape of ``vectors``
        ``out[i, c, f] = sum_j inverse[i, j, f] vectors[j, c, f]`` for ``axis=0`` (and the same
        along the second axis for ``axis=1``).
    """
    if inverse.shape[0] == 1:
        return inverse[0, 0] * vectors
    subscripts = "ijyx,jcyx->icyx" if axis == 0 else "ijyx,cjyx->ciyx"
    return xp.einsum(subscripts, inverse, vectors)


def woodbury_solve(rhs, inverse, forward, adjoint, *, rho_a, rho_b, axis=0, xp):
    """Solve ``(rho_b I + rho_a A^H A) x = rhs`` at every frequency; return ``(x, A x)``.

    Parameters
    ----------
    rhs : ndarray of shape (..., Hp, Wq)
        Right-hand side in the domain of ``A``.
    inverse : ndarray of shape (m, m, Hp, Wq)
        :func:`capacitance_inverse` of ``gram(A)`` with ``shift = rho_b / rho_a``.
    forward, adjoint : callables
        ``v -> A v`` (onto arrays whose ``axis`` has length ``m``) and ``w -> A^H w``.
    rho_a, rho_b : float
    axis : {0, 1}
        Axis of the range of ``A`` that the capacitance acts on.

    Returns
    -------
    x : ndarray of the shape of ``rhs``
    A x : ndarray in the range of ``A``
    """
    correction = apply_capacitance(inverse, forward(rhs), axis=axis, xp=xp)
    return (rhs - adjoint(correction)) / rho_b, correction / rho_a
