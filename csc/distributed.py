"""Dictionary learning and sparse coding on Dask: each worker holds one chunk of images.

:func:`learn_dictionary_distributed` runs the outer loop of
:func:`csc.learn.alternating_minimization` on a ``distributed`` cluster, for
:func:`csc.learn.learn_dictionary`, which sends a ``dask.array.Array`` here when a
``distributed.Client`` is active. This module and :mod:`csc.driver` (the outer loop over the
futures) are the orchestration only: the work on the images is the pure tasks of
:mod:`csc.chunk` (built on the steps that the in-process fit runs on one chunk of every image),
each computing on one thread (:func:`csc.backend.limit_threads`): the parallelism comes from the
workers.

The images are split into the groups of the consensus dictionary step
(:func:`csc.dictionary.image_groups`, at most ``group_size`` images each), and the groups into
one contiguous chunk per worker (as many chunks as workers, or as groups when there are fewer).
A chunk's images, codes, ADMM splits and duals and its groups' filter duals live on its worker
for the whole fit: every task of a chunk is submitted with ``workers=`` its worker, and when a
lost worker's chunk was recomputed elsewhere, its tasks follow it there. Each round of the outer
loop is one task per chunk (the chunk's new state with a small result, which one more task
per chunk picks out for the driver), so the tasks of an outer iteration grow with the number of
workers, not with the number of groups. The driver keeps the filters and the history. What
travels, per outer iteration:

- to the workers: the filters' ``s x s`` windows, once per inner iteration of the dictionary step
  and once for the coding step (and the coupling's flagged units or positions);
- back: per inner iteration of the dictionary step, each chunk's consensus term (the ``s x s``
  window of its groups' ``rho_g``-weighted filter copies plus duals, summed on the worker); per
  outer iteration a few numbers per chunk (objective terms, non-zero count), and for
  ``optimizer='cogd'`` the coupling's sums over images (per-filter ``l1`` masses, or for the
  reference rule the image-summed codes).

The arithmetic is that of the in-process fit, chunk by chunk, so a distributed fit equals the
in-process fit of the same images up to the order of floating-point sums (tested: filters within
1e-6 relative in float64, the same objective history), whatever the chunking of the array or the
number of workers.

A lost worker loses nothing: every task is a pure function of its chunk's previous state and of
small constants the driver submits as tasks of their own, so the scheduler recomputes a lost
chunk from its lineage (from the start of the fit, or from the resumed checkpoint) and the fit
ends with the same result.

:func:`encode_distributed` codes a ``dask.array.Array`` block by block (lazily, a dask array).
"""

import operator
import uuid

import numpy as np

from .backend import float_dtype, limit_threads
from .chunk import encode_signal, new_chunk
from .dictionary import even_parts, group_bounds, image_groups
from .driver import Driver
from .fourier import crop_filters
from .images import prepare_signal
from .outer_loop import fingerprint, initial_dictionary, iteration_hook, progress_bar
from .persistence import save_checkpoint
from .state import LearnedDictionary, load_state

__all__ = ["active_client", "check_image_axis", "learn_dictionary_distributed",
           "codes_as_dask_array", "encode_distributed"]


def active_client():
    """The current ``distributed.Client``, or None (no client, or distributed not installed)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def check_image_axis(images, mask=None):
    """Refuse a dask array of ``images`` without an image axis first, or a ``mask`` (dask or
    NumPy) whose first axis is not that image axis (a ValueError naming the argument)."""
    if images.ndim < 3:
        raise ValueError(f"`images` as a dask array must have an image axis first, "
                         f"(n_images, H, W[, channels]), got shape {images.shape}")
    if mask is not None and mask.shape[:1] != images.shape[:1]:
        raise ValueError(f"`mask` must have the image axis of `images` first "
                         f"({images.shape[0]}), got shape {mask.shape}")


def codes_as_dask_array(codes, groups):
    """Codes ``(n_images, ...)`` computed in this process as a dask array with one chunk per
    group (slices of the image axis), as a distributed fit returns them."""
    import dask.array as da

    sizes = tuple(group.stop - group.start for group in groups)
    return da.from_array(codes, chunks=(sizes,) + tuple((n,) for n in codes.shape[1:]))


def _one_thread(function, *args, **kwargs):
    with limit_threads(1):
        return function(*args, **kwargs)


def _on_chunk(function, state, *args, **kwargs):
    """``function`` of the chunk of a task's result ``(chunk, small)``."""
    return function(state[0], *args, **kwargs)


class _Cluster:
    """The driver's view of the chunks' futures: one task per chunk and round, each on its
    chunk's worker.

    Parameters
    ----------
    client : distributed.Client
    placement : list of str
        Chunk ``c``'s worker address at ``placement[c]``.
    """

    def __init__(self, client, placement):
        self.client = client
        self.placement = list(placement)

    def submit(self, function, *args, worker=None, name=None, **kwargs):
        """``function(*args, **kwargs)`` as a task computing on one thread (on ``worker`` when
        it is alive)."""
        name = name or getattr(function, "__name__", type(function).__name__)
        where = {} if worker is None else {"workers": [worker], "allow_other_workers": True}
        return self.client.submit(_one_thread, function, *args, key=f"{name}-{uuid.uuid4().hex}",
                                  **where, **kwargs)

    def constant(self, value):
        """A small array as a task of its own: recomputable after a worker is lost."""
        return self.submit(_constant, value)

    def _each(self, function, states, args, kwargs, each):
        each = [{}] * len(states) if each is None else each
        return [self.submit(_on_chunk, function, state, *args, worker=worker,
                            name=function.__name__, **kwargs, **extra)
                for state, worker, extra in zip(states, self.placement, each, strict=True)]

    def round(self, function, states, *args, each=None, **kwargs):
        """``function(chunk, *args, **kwargs, **each[c]) -> (chunk, small)`` on every chunk's
        latest state: the futures of the new states."""
        return self._each(function, states, args, kwargs, each)

    def results(self, states):
        """The small results of a round's states (gathered)."""
        return self.client.gather([self.submit(operator.getitem, state, 1, worker=worker)
                                   for state, worker in zip(states, self.placement,
                                                            strict=True)])

    def read(self, function, states, *args, **kwargs):
        """``function(chunk, *args, **kwargs)`` of every chunk, gathered (it changes nothing)."""
        return self.client.gather(self._each(function, states, args, kwargs, None))

    def follow(self, states):
        """Keep each chunk's tasks where its state is (elsewhere once a lost worker's chunk was
        recomputed)."""
        holders = self.client.who_has(states)
        for c, state in enumerate(states):
            if holders.get(state.key):
                self.placement[c] = holders[state.key][0]


def _constant(value):
    return value


def _codes_of(state, start, stop):
    return state[0].coding.codes[start:stop]


def learn_dictionary_distributed(images, mask=None, *, client, n_filters, filter_size, options,
                                 channel_axis=None, initial_filters=None, random_state=None,
                                 checkpoint=None, progress=False, callback=None):
    """:func:`csc.learn.learn_dictionary` on a Dask cluster (see the module docstring).

    Parameters
    ----------
    images : dask.array.Array of shape (n_images, H, W), or (n_images, ...) with a channel axis
        Any chunking; the groups are taken along the image axis.
    mask : dask.array.Array, ndarray or None
        As in :func:`csc.learn.learn_dictionary`, with the image axis
        (:func:`check_image_axis`).
    client : distributed.Client
        Whose workers hold the chunks (one each).
    Other parameters
        As in :func:`csc.learn.learn_dictionary` (validated there). A callback receives a
        :class:`csc.state.LearningState` whose ``coding`` is None and whose ``dictionary`` holds
        only the filters: the codes stay on the workers.

    Returns
    -------
    csc.state.LearnedDictionary
        ``codes`` is a ``dask.array.Array`` backed by the workers' memory (one chunk per group).
    """
    import dask
    import dask.array as da

    n_images = images.shape[0]
    groups = image_groups(n_images, options.images_per_group or n_images)
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise ValueError("the Dask client has no workers")
    chunk_groups = [groups[part] for part in even_parts(len(groups),
                                                        min(len(groups), len(workers)))]
    cluster = _Cluster(client, workers[:len(chunk_groups)])
    spans = [slice(part[0].start, part[-1].stop) for part in chunk_groups]
    chunks = []
    for span, part, worker in zip(spans, chunk_groups, cluster.placement, strict=True):
        where = {"workers": [worker], "allow_other_workers": True}
        block = client.compute(images[span], **where)
        mask_block = None if mask is None else client.compute(da.asarray(mask)[span], **where)
        chunks.append(cluster.submit(new_chunk, block, mask_block, bounds=group_bounds(part),
                                     filter_size=filter_size, channel_axis=channel_axis,
                                     n_filters=n_filters, worker=worker))
    summaries = cluster.results(chunks)
    shape = (n_images,) + summaries[0][0][1:]
    dtype = summaries[0][1]
    options.check_precision(dtype)
    n_channels, grid = shape[1], shape[2:]
    key = fingerprint(shape, dtype, sum(s[2] for s in summaries), n_filters, filter_size,
                      options, channel_axis, random_state) if checkpoint else None
    driver = Driver(cluster, chunks, chunk_groups, options, filter_size, grid, dtype)
    state = load_state(checkpoint, fingerprint=key, xp=np) if checkpoint else None
    if state is None:
        initial = initial_dictionary(n_filters, filter_size, n_channels,
                                     initial_filters=initial_filters, random_state=random_state)
        driver.start(initial.astype(dtype))
    else:
        driver.resume(state)
    bar = progress_bar(options, driver.iteration) if progress else None

    def save(_):
        arrays, meta = driver.checkpoint_arrays()
        save_checkpoint(checkpoint, arrays, fingerprint=key, meta=meta)

    after_iteration = iteration_hook(bar=bar, save=save if checkpoint else None,
                                     callback=callback)
    try:
        driver.run(after_iteration, bar)
    finally:
        if bar is not None:
            bar.close()
    filters = crop_filters(driver.filters, filter_size)
    code_shape = (n_filters,) + tuple(grid)
    cluster.follow(driver.chunks)
    codes = da.concatenate([
        da.from_delayed(dask.delayed(cluster.submit(_codes_of, state, group.start - span.start,
                                                    group.stop - span.start, worker=worker)),
                        shape=(group.stop - group.start,) + code_shape, dtype=dtype)
        for state, span, part, worker in zip(driver.chunks, spans, chunk_groups,
                                             cluster.placement, strict=True)
        for group in part])
    return LearnedDictionary(filters[:, 0] if channel_axis is None else filters, codes,
                             driver.iteration, driver.history, n_channels)


# -- coding with fixed filters -----------------------------------------------------------------
def _encode_block(images, mask, *, filters, options, encode_iter, channel_axis):
    with limit_threads(1):
        signal, weights, xp = prepare_signal(images, mask, filter_size=filters.shape[-1],
                                             channel_axis=channel_axis)
        return encode_signal(signal, weights, filters, options, max_iter=encode_iter, xp=xp)


def encode_distributed(images, mask, *, filters, options, encode_iter, channel_axis=None):
    """Codes of a dask array of images, block by block along the image axis (lazy).

    Parameters
    ----------
    images : dask.array.Array of shape (n_images, H, W) (or with a channel axis)
    mask : dask.array.Array, ndarray or None
        With the image axis.
    filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    options : csc.options.LearningOptions
    encode_iter : int

    Returns
    -------
    dask.array.Array of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Chunked like ``images`` along the image axis; computed on the active client's workers
        when there is one (``.compute()``), otherwise by Dask's local scheduler.

    Raises
    ------
    ValueError
        ``images`` without an image axis, or a ``mask`` whose image axis differs.
    """
    import dask.array as da

    check_image_axis(images, mask)
    filters = np.asarray(filters)
    filter_size = filters.shape[-1]
    images = images.rechunk({axis: -1 for axis in range(1, images.ndim)})
    spatial_axes = [a % images.ndim for a in range(1, images.ndim)
                    if channel_axis is None or a % images.ndim != channel_axis % images.ndim]
    height, width = (images.shape[a] for a in spatial_axes)
    grid = (height + filter_size - 1, width + filter_size - 1)
    args = [images]
    if mask is not None:
        args.append(da.asarray(mask).rechunk((images.chunks[0],) + (-1,) * (mask.ndim - 1)))

    def block(image_block, mask_block=None):
        return _encode_block(image_block, mask_block, filters=filters, options=options,
                             encode_iter=encode_iter, channel_axis=channel_axis)

    out_chunks = (images.chunks[0], (filters.shape[0],), (grid[0],), (grid[1],))
    extra = {"new_axis": [3]} if images.ndim == 3 else {}
    return da.map_blocks(block, *args, dtype=float_dtype(images.dtype), chunks=out_chunks,
                         **extra)
