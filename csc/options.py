"""Solver options of dictionary learning: :class:`LearningOptions`, validated when built.

Every fit (in process, :mod:`csc.learn`, and on Dask, :mod:`csc.distributed`) and the coding of
``encode`` read their solver settings from one :class:`LearningOptions`.
"""

import dataclasses
from dataclasses import dataclass

from .coupling import COUPLING_RULES
from .validation import (
    check_bool,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_representable,
    is_number,
    is_positive,
)

__all__ = ["LearningOptions", "OPTIMIZERS", "DICTIONARY_SOLVERS", "LEARNING_COPIES"]

OPTIMIZERS = ("admm", "cogd")
# images per group of the dictionary step (None: one group), see csc.dictionary
DICTIONARY_SOLVERS = {"auto": 10, "woodbury": None, "consensus": 1}
# code-sized arrays held at once by a fit (codes, duals, anchors, spectra, dictionary step)
LEARNING_COPIES = 8


@dataclass(frozen=True)
class LearningOptions:
    """Solver options of dictionary learning, validated when built.

    The fields are the parameters of :class:`csc.ConvolutionalDictionary` with the same names
    and defaults (see there); ``coding_penalty=None`` becomes ``(1, 3 * sparsity_weight)``.

    Raises
    ------
    ValueError
        A value out of its range, naming the field.
    """

    sparsity_weight: float = 1.0
    optimizer: str = "admm"
    max_iter: int = 20
    coding_iter: int = 10
    dictionary_iter: int = 10
    coding_penalty: tuple | None = None
    dictionary_penalty: tuple = (1.0, 30.0)
    relaxation: float = 1.8
    dictionary_solver: str = "auto"
    non_negative: bool = False
    coupling: str = "reference"
    coupling_quantiles: tuple = (0.5, 0.5)
    backtrack_rate: float = 1.0
    group_size: int | None = None

    def __post_init__(self):
        for name in ("max_iter", "coding_iter", "dictionary_iter"):
            check_int(name, getattr(self, name), 1)
        check_positive("sparsity_weight", self.sparsity_weight)
        coding_penalty = self.coding_penalty
        if coding_penalty is None:
            coding_penalty = (1.0, 3.0 * float(self.sparsity_weight))
        for name, value in (("coding_penalty", coding_penalty),
                            ("dictionary_penalty", self.dictionary_penalty)):
            if (not isinstance(value, tuple | list) or len(value) != 2
                    or not all(is_positive(v) for v in value)):
                raise ValueError(f"`{name}` must be a pair of positive floats, got {value!r}")
        check_in_range("relaxation", self.relaxation, 0, 2, closed=(False, False))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("dictionary_solver", self.dictionary_solver, tuple(DICTIONARY_SOLVERS))
        check_choice("coupling", self.coupling, COUPLING_RULES)
        quantiles = self.coupling_quantiles
        if (not isinstance(quantiles, tuple | list) or len(quantiles) != 2
                or not all(is_number(q) and 0 <= q <= 1 for q in quantiles)):
            raise ValueError(f"`coupling_quantiles` must be two numbers in [0, 1], "
                             f"got {quantiles!r}")
        check_in_range("backtrack_rate", self.backtrack_rate, 0, 1, closed=(False, True))
        check_bool("non_negative", self.non_negative)
        if self.group_size is not None:
            check_int("group_size", self.group_size, 1)
            if self.dictionary_solver != "auto":
                raise ValueError(f"`group_size` sets the groups of the 'auto' dictionary solver; "
                                 f"leave it None with dictionary_solver="
                                 f"{self.dictionary_solver!r}")
        normalized = {
            "sparsity_weight": float(self.sparsity_weight),
            "coding_penalty": tuple(float(v) for v in coding_penalty),
            "dictionary_penalty": tuple(float(v) for v in self.dictionary_penalty),
            "relaxation": float(self.relaxation), "non_negative": bool(self.non_negative),
            "coupling_quantiles": tuple(float(q) for q in quantiles),
            "backtrack_rate": float(self.backtrack_rate),
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    def check_precision(self, dtype):
        """Refuse weights and penalties that overflow or vanish in the working ``dtype``.

        Raises
        ------
        ValueError
            ``sparsity_weight`` or a penalty outside the range of
            :func:`csc.validation.check_representable`.
        """
        check_representable("sparsity_weight", self.sparsity_weight, dtype)
        for name in ("coding_penalty", "dictionary_penalty"):
            for value in getattr(self, name):
                check_representable(name, value, dtype)

    def coding_arguments(self, max_iter=None):
        """The keyword arguments of :func:`csc.coding.admm_sparse_code` these options set.

        Parameters
        ----------
        max_iter : int or None
            ADMM iterations; None: ``coding_iter`` (the coding step of a fit).

        Returns
        -------
        dict
            ``sparsity_weight``, ``rho_data`` and ``rho_sparse`` (``coding_penalty``),
            ``max_iter``, ``relaxation`` and ``non_negative``.
        """
        rho_data, rho_sparse = self.coding_penalty
        return {"sparsity_weight": self.sparsity_weight, "rho_data": rho_data,
                "rho_sparse": rho_sparse,
                "max_iter": self.coding_iter if max_iter is None else max_iter,
                "relaxation": self.relaxation, "non_negative": self.non_negative}

    @property
    def images_per_group(self):
        """Most images per group of the dictionary step (None: one group of all images)."""
        if self.group_size is not None:
            return self.group_size
        return DICTIONARY_SOLVERS[self.dictionary_solver]

    @classmethod
    def field_names(cls):
        """Names of the options (a subset of the estimator's parameters)."""
        return tuple(f.name for f in dataclasses.fields(cls))
