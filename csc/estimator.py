"""The :class:`ConvolutionalDictionary` estimator (scikit-learn conventions).

``__init__`` stores its arguments, ``fit`` runs :func:`csc.learn.learn_dictionary`, ``partial_fit``
:func:`csc.online.learn_dictionary_online` on one mini-batch, ``encode`` /
``decode`` / ``objective`` apply the learned filters, ``save`` / ``load`` use the dictionary file
format of :mod:`csc.persistence`.
"""

import inspect

from .backend import array_module, check_memory, is_dask_array, to_numpy
from .chunk import encode_signal, filter_spectra
from .coding import objective_terms
from .fourier import crop_signal, spatial, spectra, synthesize
from .images import ImageLayout, as_array, prepare_signal
from .learn import learn_dictionary
from .online import learn_dictionary_online, read_online_checkpoint
from .options import LEARNING_COPIES, LearningOptions
from .persistence import read_dictionary_file, save_dictionary
from .validation import check_int

__all__ = ["ConvolutionalDictionary"]


class ConvolutionalDictionary:
    """Learn convolutional filters by alternating sparse coding and filter updates.

    Minimises, over filters ``d_k`` (``s x s``, ``||d_k|| <= 1``) and codes ``x_{n,k}``,

    .. math::

        F(d, x) = \\frac12 \\sum_n \\| M_n \\odot (b_n - \\sum_k d_k * x_{n,k}) \\|_2^2
                  + \\lambda \\sum_{n,k} \\|x_{n,k}\\|_1

    on the zero-padded grid (SPEC 1), with ADMM for both steps and, for
    ``optimizer='cogd'``, the cogradient coupling between codes and filters (SPEC 3).

    Parameters
    ----------
    n_filters : int, default 100
    filter_size : int, default 11
        Side ``s`` of the square filters.
    sparsity_weight : float, default 1.0
        ``lambda``.
    optimizer : {'admm', 'cogd'}, default 'admm'
    max_iter : int, default 20
        Outer iterations (one dictionary step and one coding step each).
    coding_iter, dictionary_iter : int, default 10
        Inner ADMM iterations per coding and per dictionary step.
    encode_iter : int, default 100
        ADMM iterations of :meth:`encode`, and the coding iterations of each mini-batch of
        :meth:`partial_fit`.
    coding_penalty : (float, float) or None, default None
        ADMM penalties ``(rho_data, rho_sparse)`` of the coding step; None means
        ``(1, 3 * sparsity_weight)``, the best of a sweep on the fruit protocol (lambda 1) and on
        a small problem with lambda 0.1 (``rho_sparse`` in 1..10 lambda, ``rho_data`` in 0.3..10).
    dictionary_penalty : (float, float), default (1.0, 30.0)
        ADMM penalties ``(rho_data, rho_filter)`` of the dictionary step (same sweep).
    relaxation : float, default 1.8
        ADMM over-relaxation in (0, 2).
    dictionary_solver : {'auto', 'woodbury', 'consensus'}, default 'auto'
        Filter update of the dictionary step (:mod:`csc.dictionary`): ``'woodbury'`` solves it
        exactly with ``n_images x n_images`` factors per frequency (cost and memory grow with
        ``n_images^2``); ``'consensus'`` keeps one filter copy per image; ``'auto'`` keeps one
        copy per group of at most 10 images (the exact update up to 10 images, linear in the
        number of images beyond).
    group_size : int or None, default None
        Most images per group of the ``'auto'`` solver (None: 10). In a distributed fit (images
        as a ``dask.array.Array``) each group lives on one worker; the result depends on the
        groups, not on the chunking of the array or the number of workers.
    coupling : {'reference', 'filter'}, default 'reference'
        CoGD rule: the reference code's entry-wise rule (:func:`csc.coupling.reference_coupling`) or
        per-filter units (codes' l1 mass vs filter movement, both backtracked to their
        anchors). The default was chosen by measured objective on the fruit and city protocol
        (``benchmarks/results/coupling_rules.md``): the reference rule ends within 0.2 % of plain
        ADMM, the per-filter rule 5-6 % above it.
    coupling_quantiles : (float, float), default (0.5, 0.5)
        Quantiles ``alpha`` (codes) and ``beta`` (filters) of the per-filter rule.
    backtrack_rate : float, default 1.0
        Fraction of the way back to the anchor for flagged filters.
    non_negative : bool, default False
        Constrain codes to be non-negative.
    coding_solver : {'admm', 'fista'}, default 'admm'
        Coding of each mini-batch of :meth:`partial_fit` (:func:`csc.coding.admm_sparse_code`
        with ``coding_penalty``, or :func:`csc.fista.fista_sparse_code`).
    forgetting_exponent : float, default 10.0
        ``p`` of :meth:`partial_fit`: mini-batch ``tau`` weighs ``(tau / t)^p`` in the
        statistics after ``t`` mini-batches (:mod:`csc.online`); 0 weighs all alike.
    channel_axis : int or None, default None
        Axis of colour channels in the images (None: gray).
    initial_filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s), optional
        Starting dictionary; random normal (projected) when None.
    random_state : int, numpy Generator or None
    checkpoint : str or None
        Path of an ``.npz`` checkpoint written atomically after every outer iteration of ``fit``
        (every call of ``partial_fit``); ``fit`` resumes from it when it exists and matches the
        problem, the first ``partial_fit`` when it matches the parameters.
    progress : bool, default False
        Show a progress bar (tqdm) over outer iterations.
    callback : callable(csc.state.LearningState) -> bool, optional
        Called after every outer iteration; returning True stops.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    n_iter_ : int
        Outer iterations of ``fit``, or mini-batches of ``partial_fit``.
    history_ : dict of lists
        Of ``partial_fit``: one row per mini-batch (:class:`csc.online.OnlineState`). Of ``fit``:
        per outer iteration (index 0 is the initial point): ``objective``, ``data_term``,
        ``nnz`` (fraction of non-zero code entries), ``seconds`` (cumulative wall time),
        ``accepted`` and ``backtracked`` (units or entries changed by the coupling), and the wall
        time of each outer iteration's steps, ``dictionary_seconds``, ``coupling_seconds`` and
        ``coding_seconds``.
    codes_ : ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Codes of the training images at the end of ``fit``, in the images' array type (NumPy,
        CuPy, or a ``dask.array.Array`` for dask images); ``fit`` only.
    online_state_ : csc.online.OnlineState
        What ``partial_fit`` carries to the next mini-batch (``fit`` removes it).

    Examples
    --------
    >>> import numpy as np
    >>> from csc import ConvolutionalDictionary
    >>> images = np.random.default_rng(0).standard_normal((2, 24, 24)).astype(np.float32)
    >>> model = ConvolutionalDictionary(4, 5, max_iter=3, random_state=0).fit(images)
    >>> model.filters_.shape, model.decode(model.encode(images)).shape
    ((4, 5, 5), (2, 24, 24))
    """

    def __init__(self, n_filters=100, filter_size=11, *, sparsity_weight=1.0, optimizer="admm",
                 max_iter=20, coding_iter=10, dictionary_iter=10, encode_iter=100,
                 coding_penalty=None, dictionary_penalty=(1.0, 30.0), relaxation=1.8,
                 dictionary_solver="auto", group_size=None, coupling="reference", coupling_quantiles=(0.5, 0.5),
                 backtrack_rate=1.0, non_negative=False, coding_solver="admm",
                 forgetting_exponent=10.0, channel_axis=None, initial_filters=None,
                 random_state=None, checkpoint=None, progress=False, callback=None):
        self.n_filters = n_filters
        self.filter_size = filter_size
        self.sparsity_weight = sparsity_weight
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.coding_iter = coding_iter
        self.dictionary_iter = dictionary_iter
        self.encode_iter = encode_iter
        self.coding_penalty = coding_penalty
        self.dictionary_penalty = dictionary_penalty
        self.relaxation = relaxation
        self.dictionary_solver = dictionary_solver
        self.group_size = group_size
        self.coupling = coupling
        self.coupling_quantiles = coupling_quantiles
        self.backtrack_rate = backtrack_rate
        self.non_negative = non_negative
        self.coding_solver = coding_solver
        self.forgetting_exponent = forgetting_exponent
        self.channel_axis = channel_axis
        self.initial_filters = initial_filters
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.progress = progress
        self.callback = callback

    # -- scikit-learn style parameters ------------------------------------------------------
    def get_params(self, deep=True):
        """Constructor parameters as a dict."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter {name!r}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, images, mask=None):
        """Learn the filters from images, optionally with missing pixels.

        Parameters
        ----------
        images : ndarray of shape (n_images, H, W), (H, W), or with a channel axis
            NumPy or CuPy; float32/float64 kept, integers scaled to [0, 1] (or [-1, 1]) in
            float32 (:func:`csc.images.as_float`). Or a ``dask.array.Array`` with the image
            axis first: learned on the active ``distributed.Client``'s workers, one group of
            ``group_size`` images per task (:mod:`csc.distributed`), or without a client
            computed and learned from in this process; ``codes_`` is a dask array either way.
        mask : ndarray of the shape of ``images`` (or without the channel axis), or None
            1 (True) where a pixel is observed, 0 where it is missing.

        Returns
        -------
        self
        """
        options = self._options()
        result = learn_dictionary(
            images, mask, n_filters=self.n_filters, filter_size=self.filter_size,
            options=options, channel_axis=self.channel_axis,
            initial_filters=self.initial_filters, random_state=self.random_state,
            checkpoint=self.checkpoint, progress=self.progress, callback=self.callback)
        self.filters_ = result.filters
        self.codes_ = result.codes
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self.n_channels_ = result.n_channels
        self.__dict__.pop("online_state_", None)
        return self

    def partial_fit(self, images, mask=None):
        """Update the filters with one mini-batch of images (online dictionary learning).

        Each call codes the batch with the current filters (``coding_solver``, ``encode_iter``
        iterations), folds it into the statistics of the surrogate function and minimises it
        (``dictionary_iter`` FISTA iterations), as :mod:`csc.online` describes; memory does not
        grow with the number of batches. The first call starts from ``filters_`` when the
        estimator has them (fitted or loaded), otherwise from ``initial_filters`` or a random
        draw, or resumes ``checkpoint``; ``fit`` starts afresh.

        Parameters
        ----------
        images : ndarray of shape (n_images, H, W), (H, W), or with a channel axis
            NumPy or CuPy (not dask), as in :meth:`fit`, in the dtype of the first batch; the
            image size may change from batch to batch.
        mask : ndarray of the shape of ``images`` (or without the channel axis), or None
            Weights in [0, 1]: 1 (True) where a pixel is observed, 0 where it is missing.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid images, mask or parameters (``optimizer='cogd'`` needs
            ``coupling='filter'``), or a batch whose channels or dtype differ from the first,
            naming the argument.
        """
        if is_dask_array(images):
            raise TypeError("`images` of partial_fit must be a NumPy or CuPy array (one "
                            "mini-batch), got a dask array")
        state = getattr(self, "online_state_", None)
        initial = self.initial_filters
        if state is None and hasattr(self, "filters_"):
            initial = to_numpy(self.filters_)
        self._set_online_state(learn_dictionary_online(
            images, mask, state=state, initial_filters=initial, checkpoint=self.checkpoint,
            **self._online_arguments()))
        return self

    def resume_partial_fit(self):
        """Load the state that :meth:`partial_fit` wrote to ``checkpoint`` with these parameters
        (nothing when there is no such file), so that a stream of mini-batches goes on where it
        stopped: ``online_state_.n_images`` images in.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid parameters, or a checkpoint that is damaged or belongs to other parameters.
        """
        state = read_online_checkpoint(self.checkpoint, **self._online_arguments()) \
            if self.checkpoint is not None else None
        if state is not None:
            self._set_online_state(state)
        return self

    def _online_arguments(self):
        return dict(n_filters=self.n_filters, filter_size=self.filter_size,
                    options=self._options(), coding_solver=self.coding_solver,
                    coding_iter=self.encode_iter, forgetting_exponent=self.forgetting_exponent,
                    channel_axis=self.channel_axis, random_state=self.random_state)

    def _set_online_state(self, state):
        self.online_state_ = state
        self.filters_ = state.filters[:, 0] if self.channel_axis is None else state.filters
        self.n_iter_ = state.n_batches
        self.history_ = state.history
        self.n_channels_ = state.filters.shape[1]
        self.__dict__.pop("codes_", None)

    def fit_transform(self, images, mask=None):
        """Fit, then return the training codes ``codes_``."""
        return self.fit(images, mask).codes_

    def encode(self, images, mask=None):
        """Sparse codes of images with the learned filters (ADMM, ``encode_iter`` iterations).

        Parameters
        ----------
        images : ndarray of shape (n_images, H, W) (or with channels, as in :meth:`fit`)
            Or a ``dask.array.Array`` with the image axis first: coded block by block.
        mask : ndarray of the shape of ``images`` or None

        Returns
        -------
        ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
            A lazy ``dask.array.Array`` for dask input (computed on the active
            ``distributed.Client``'s workers, else by Dask's local scheduler).
        """
        self._check_fitted()
        options = self._options()
        if is_dask_array(images):
            from .distributed import encode_distributed

            return encode_distributed(images, mask, filters=to_numpy(self.filters_),
                                      options=options, encode_iter=self.encode_iter,
                                      channel_axis=self.channel_axis)
        signal, weights, xp = self._prepare(images, mask)
        options.check_precision(signal.dtype)
        check_memory("n_filters", self.n_filters, (signal.shape[0], self.n_filters)
                     + signal.shape[2:], signal.dtype, copies=LEARNING_COPIES, xp=xp)
        return encode_signal(signal, weights, self.filters_, options, max_iter=self.encode_iter,
                             xp=xp)

    transform = encode

    def decode(self, codes):
        """Images synthesised from codes: ``sum_k d_k (*) x_k`` cropped to the image grid.

        Parameters
        ----------
        codes : ndarray of shape (n_images, n_filters, Hp, Wp)

        Returns
        -------
        ndarray of shape (n_images, Hp - s + 1, Wp - s + 1), or with the colour axis where
        ``channel_axis`` puts it in a stack of images
            The layout :meth:`fit` and :meth:`encode` take: ``decode(encode(images))`` has the
            shape of ``images`` (a stack; a single image comes back as a stack of one).
        """
        self._check_fitted()
        codes = self._checked_codes(codes)
        xp = array_module(codes)
        grid = codes.shape[-2:]
        filters_hat = self._filters_hat(grid, codes.dtype, xp)
        images = crop_signal(spatial(synthesize(filters_hat, spectra(codes, xp=xp), xp=xp), grid,
                                     xp=xp), self.filter_size)
        return ImageLayout.of_stack(images.shape, self.channel_axis).from_internal(images, xp=xp)

    def objective(self, images, codes, mask=None):
        """Objective ``F`` (SPEC 1) of codes for images with the learned filters, as a float."""
        self._check_fitted()
        signal, weights, xp = self._prepare(images, mask)
        codes = self._checked_codes(codes)
        expected = (signal.shape[0], self.n_filters) + signal.shape[2:]
        if codes.shape != expected:
            raise ValueError(f"`codes` must have shape {expected} (those of `images` on the padded "
                             f"grid), got {codes.shape}")
        filters_hat = self._filters_hat(signal.shape[-2:], signal.dtype, xp)
        return sum(objective_terms(signal, weights, filters_hat, xp.asarray(codes, signal.dtype),
                                   sparsity_weight=self.sparsity_weight, xp=xp))

    # -- persistence ------------------------------------------------------------------------
    def save(self, path):
        """Write the learned filters and the parameters to an ``.npz`` file atomically."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("initial_filters", "callback", "random_state", "checkpoint")}
        save_dictionary(path, to_numpy(self.filters_), params=params, history=self.history_)

    @classmethod
    def load(cls, path):
        """Load a dictionary written by :meth:`save`.

        Raises
        ------
        ValueError
            The file cannot be read, is not a dictionary file, or its parameters do not match
            its filters (naming the file).
        """
        filters, params, history = read_dictionary_file(path)
        valid = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(params) - valid)
        if unknown:
            raise ValueError(f"{str(path)!r}: unknown parameters {unknown} (not a dictionary "
                             "file of this version?)")
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
        shape = {"n_filters": filters.shape[0], "filter_size": filters.shape[-1]}
        for name, value in shape.items():
            if getattr(model, name) != value:
                raise ValueError(f"{str(path)!r}: parameter {name}={getattr(model, name)!r} does "
                                 f"not match the filters of shape {filters.shape}")
        if filters.ndim == 4 and model.channel_axis is None:
            raise ValueError(f"{str(path)!r}: colour filters of shape {filters.shape} need a "
                             "`channel_axis`, which the file does not give")
        model.filters_ = filters
        model.history_ = history
        model.n_iter_ = max(len(history.get("objective", [])) - 1, 0)
        model.n_channels_ = 1 if filters.ndim == 3 else filters.shape[1]
        return model

    # -- internals --------------------------------------------------------------------------
    def _options(self):
        check_int("n_filters", self.n_filters, 1)
        check_int("filter_size", self.filter_size, 1)
        check_int("encode_iter", self.encode_iter, 1)
        return LearningOptions(**{name: getattr(self, name)
                                  for name in LearningOptions.field_names()})

    def _prepare(self, images, mask):
        """Validated, padded ``(signal, weights, xp)`` for the fitted filters."""
        return prepare_signal(images, mask, filter_size=self.filter_size,
                              channel_axis=self.channel_axis,
                              n_channels=getattr(self, "n_channels_", None))

    def _filters_hat(self, grid, dtype, xp):
        return filter_spectra(self.filters_, grid, dtype, xp=xp)

    def _checked_codes(self, codes):
        """``codes`` as a real float array of shape (n_images, n_filters, Hp, Wp)."""
        codes = as_array(codes, name="codes")
        if codes.dtype.kind != "f":
            raise ValueError(f"`codes` must hold real floats, got dtype {codes.dtype}")
        if codes.ndim != 4 or codes.shape[1] != self.n_filters or 0 in codes.shape:
            raise ValueError(f"`codes` must have shape (n_images, {self.n_filters}, Hp, Wp), "
                             f"got {codes.shape}")
        if min(codes.shape[-2:]) < self.filter_size:
            raise ValueError(f"`codes` grid {codes.shape[-2:]} is smaller than the filters "
                             f"({self.filter_size}x{self.filter_size})")
        xp = array_module(codes)
        if not bool(xp.all(xp.isfinite(codes))):
            raise ValueError("`codes` contains NaN or infinite values")
        return codes

    def _check_fitted(self):
        if not hasattr(self, "filters_"):
            raise ValueError("this ConvolutionalDictionary is not fitted yet; call `fit` first")
