"""Dictionary learning and sparse coding on Dask: each worker holds one chunk of images.

:func:`learn_dictionary_distributed` runs the outer loop of
:func:`csc.learn.alternating_minimization` on a ``distributed`` cluster, for
:func:`csc.learn.learn_dictionary`, which sends a ``dask.array.Array`` here when a
``distributed.Client`` is active. This module and :mod:`csc.driver` (the outer loop) are the
orchestration only: the work on the images is the pure tasks of :mod:`csc.chunk` (built on the
steps that the in-process fit runs on one chunk of every image), each computing on one thread
(:func:`csc.backend.limit_threads`, on the worker's one actor thread): the parallelism comes from
the workers.

The images are split into the groups of the consensus dictionary step
(:func:`csc.dictionary.image_groups`, at most ``group_size`` images each), and the groups into
one contiguous chunk per worker (as many chunks as workers, or as groups when there are fewer).
A chunk's images, codes, ADMM splits and duals and its groups' filter duals live on its worker
for the whole fit, in a Dask actor (:class:`_ChunkHolder`) created there (``workers=``): every
round of the outer loop is one call per chunk, which applies a task of :mod:`csc.chunk` to the
chunk and returns its small result. A call is not a task: the scheduler only forwards it (or
nothing, for a client with ``direct_to_workers``), so what an outer iteration costs the
scheduler grows with the number of workers, not with the number of groups, and is a fraction of
what a task costs (``benchmarks/results/scale_out.md``). The driver keeps the filters and the
history. What travels, per outer iteration:

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

A lost worker loses nothing: every round is a pure function of a chunk's previous state and of
what the driver sends, which the driver logs; a chunk whose worker is lost is built again on a
live worker from its images (recomputed by Dask from the array's graph) and the log replayed
(from the start of the fit, or from the resumed checkpoint), so the fit ends with the same
result. The codes returned after the fit live on the workers; lost with a worker then, they are
refused with a clear error when computed (not recomputed wrong).

:func:`encode_distributed` codes a ``dask.array.Array`` block by block (lazily, a dask array).
"""

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


WORKER_WAIT = 60  # seconds a fit waits for a worker when the cluster has none


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


class _ChunkHolder:
    """One chunk's state on its worker, a Dask actor: every round of the driver applies a pure
    task of :mod:`csc.chunk` to it, on the worker's one actor thread (and one FFT thread), and
    only the task's small result travels back."""

    summary = None  # new_chunk's (an actor's attributes are those of its class)

    def __init__(self, images, mask, **kwargs):
        with limit_threads(1):
            self.chunk, self.summary = new_chunk(images, mask, **kwargs)
        self.steps = 0

    def apply(self, function, args, kwargs):
        """``function(chunk, *args, **kwargs) -> (chunk, small)``: the chunk's next state."""
        with limit_threads(1):
            self.chunk, small = function(self.chunk, *args, **kwargs)
        self.steps += 1
        return small

    def read(self, function, args, kwargs):
        """``function(chunk, *args, **kwargs)``, which changes nothing."""
        with limit_threads(1):
            return function(self.chunk, *args, **kwargs)

    def codes(self, steps):
        """The chunk's codes, when it has taken all ``steps`` of the fit (not when its worker was
        lost after the fit and it was recomputed from the start)."""
        if steps != self.steps:
            raise ValueError("the codes of a distributed fit were lost with their worker after "
                             "the fit; fit again (the filters are not affected)")
        return self.chunk.coding.codes


def _lost(error):
    """Whether an actor call failed because its worker is gone (not in the task itself)."""
    return isinstance(error, OSError) or "Actor was lost" in str(error)


class _Cluster:
    """The driver's view of the chunks: one :class:`_ChunkHolder` actor per worker, one call per
    chunk and round (no task: the scheduler only forwards the call), and the rounds' log, which
    rebuilds a lost worker's chunk on another worker.

    Parameters
    ----------
    client : distributed.Client
    workers : list of str
        Chunk ``c``'s worker address at ``workers[c]``.
    sources : list of (dask.array.Array, dask.array.Array or None, dict)
        Each chunk's images and mask (lazy: computed on its worker) and the other arguments of
        :func:`csc.chunk.new_chunk`.
    """

    def __init__(self, client, workers, sources):
        self.client = client
        self.sources = sources
        self.workers = list(workers)
        self.log = []  # the rounds that changed the chunks, replayed on a rebuilt chunk
        # each chunk's actor future (which keeps it alive, and the codes' tasks depend on it)
        self.futures = [self._holder(c, worker) for c, worker in enumerate(workers)]
        self.holders = [future.result() for future in self.futures]

    def _holder(self, c, worker):
        images, mask, kwargs = self.sources[c]
        where = {"workers": [worker], "allow_other_workers": True}
        blocks = [None if array is None else self.client.compute(array, **where)
                  for array in (images, mask)]
        return self.client.submit(_ChunkHolder, *blocks, **kwargs, actor=True,
                                  key=f"chunk-{c}-{uuid.uuid4().hex}", **where)

    def summaries(self):
        return [holder.summary for holder in self.holders]

    def round(self, function, *args, each=None, **kwargs):
        """``function(chunk, *args, **kwargs, **each[c]) -> (chunk, small)`` on every chunk:
        the small results."""
        each = [{}] * len(self.holders) if each is None else each
        self.log.append((function, args, kwargs, each))
        return self._call("apply", function, args, kwargs, each)

    def read(self, function, *args, **kwargs):
        """``function(chunk, *args, **kwargs)`` of every chunk (it changes nothing)."""
        return self._call("read", function, args, kwargs, [{}] * len(self.holders))

    def _call(self, method, function, args, kwargs, each):
        calls = [self._try(lambda c=c: getattr(self.holders[c], method)(
            function, args, {**kwargs, **each[c]})) for c in range(len(self.holders))]
        results = []
        for c, call in enumerate(calls):
            result = self._try(call.result) if not isinstance(call, Exception) else call
            if isinstance(result, Exception):
                result = self._rebuild(c, method, function, args, {**kwargs, **each[c]})
            results.append(result)
        return results

    @staticmethod
    def _try(call):
        try:
            return call()
        except (OSError, RuntimeError) as error:
            if not _lost(error):
                raise
            return error

    def _rebuild(self, c, method, function, args, kwargs):
        """Chunk ``c`` again, on a live worker, from its images and the log; then the call."""
        while True:
            live = sorted(self.client.scheduler_info()["workers"])
            load = {worker: sum(other == worker for other in self.workers) for worker in live}
            self.workers[c] = min(live, key=load.get)
            future = self._holder(c, self.workers[c])
            try:
                holder = future.result()
                for step, step_args, step_kwargs, each in self.log:
                    small = holder.apply(step, step_args, {**step_kwargs, **each[c]}).result()
                if method == "read":
                    small = holder.read(function, args, kwargs).result()
            except (OSError, RuntimeError) as error:
                if not _lost(error):
                    raise
                continue  # that worker was lost too
            self.futures[c], self.holders[c] = future, holder
            return small

    def codes(self):
        """Futures of every chunk's codes (each on its worker), at the end of the fit: tasks
        on the chunks' actors, which they keep alive until they have run."""
        return [self.client.submit(_codes_of, future, len(self.log),
                                   key=f"codes-{c}-{uuid.uuid4().hex}", workers=[worker],
                                   allow_other_workers=True)
                for c, (future, worker) in enumerate(zip(self.futures, self.workers,
                                                         strict=True))]


def _codes_of(holder, steps):
    return holder.codes(steps).result()


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
    if not workers:  # a cluster starting, or a worker restarted by its nanny: wait a little
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except (TimeoutError, OSError):
            raise ValueError(f"the Dask client has no workers (none joined in {WORKER_WAIT} "
                             "s)") from None
        workers = sorted(client.scheduler_info()["workers"])
    chunk_groups = [groups[part] for part in even_parts(len(groups),
                                                        min(len(groups), len(workers)))]
    spans = [slice(part[0].start, part[-1].stop) for part in chunk_groups]
    mask = None if mask is None else da.asarray(mask)
    cluster = _Cluster(client, workers[:len(chunk_groups)], [
        (images[span], None if mask is None else mask[span],
         dict(bounds=group_bounds(part), filter_size=filter_size, channel_axis=channel_axis,
              n_filters=n_filters))
        for span, part in zip(spans, chunk_groups, strict=True)])
    summaries = cluster.summaries()
    shape = (n_images,) + summaries[0][0][1:]
    dtype = summaries[0][1]
    options.check_precision(dtype)
    n_channels, grid = shape[1], shape[2:]
    key = fingerprint(shape, dtype, sum(s[2] for s in summaries), n_filters, filter_size,
                      options, channel_axis, random_state) if checkpoint else None
    driver = Driver(cluster, chunk_groups, options, filter_size, grid, dtype)
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
    codes = da.concatenate([
        da.from_delayed(dask.delayed(future), shape=(span.stop - span.start,) + code_shape,
                        dtype=dtype)
        for future, span in zip(cluster.codes(), spans, strict=True)])
    codes = codes.rechunk({0: tuple(group.stop - group.start for group in groups)})
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
