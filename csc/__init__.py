"""Convolutional sparse coding on NumPy or CuPy: FFT operators, ADMM/FISTA solvers,
dictionary learning and the CoGD coupling rule.

Notation (the only mathematical short names allowed in this package)
--------------------------------------------------------------------
``D``      filters (dictionary), shape ``(n_filters, n_channels, s, s)``
``X``      coefficient maps (codes), shape ``(n_images, n_filters, Hp, Wp)``
``S``      signals (images), shape ``(n_images, n_channels, H, W)``
``Y``, ``U``  ADMM split variable and scaled dual
``rho``    ADMM penalty, ``lam`` l1 weight, ``tau`` threshold, ``t`` iteration counter
``*_hat``  array in the DFT domain (``rfft2`` over the last two axes)
``Hp, Wp`` padded grid, ``H + s - 1`` and ``W + s - 1``
"""

from .backend import array_module
from .coding import SparseCode, admm_sparse_code, objective_terms
from .estimator import ConvolutionalDictionary
from .fista import fista_sparse_code
from .learn import learn_dictionary
from .options import LearningOptions
from .state import LearnedDictionary

__all__ = [
    "ConvolutionalDictionary",
    "LearnedDictionary",
    "LearningOptions",
    "SparseCode",
    "admm_sparse_code",
    "array_module",
    "fista_sparse_code",
    "learn_dictionary",
    "objective_terms",
]
