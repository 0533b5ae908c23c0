"""Backend (NumPy or CuPy) and dtype policy, chosen from the input arrays."""

import contextlib
import os
import threading

import numpy as np

__all__ = ["array_module", "float_dtype", "to_numpy", "rfft2", "irfft2", "memory_size",
           "check_memory", "is_dask_array", "fft_threads", "limit_threads"]


def array_module(*arrays):
    """Return the array namespace (``numpy`` or ``cupy``) of the given arrays.

    Parameters
    ----------
    *arrays : array_like or None
        ``None`` entries are ignored.

    Returns
    -------
    module
        ``cupy`` when the arrays are CuPy arrays, ``numpy`` otherwise.

    Raises
    ------
    TypeError
        When NumPy and CuPy arrays are mixed.
    """
    kinds = {type(a).__module__.split(".")[0] for a in arrays if a is not None}
    kinds.discard("builtins")
    if "cupy" in kinds:
        if kinds - {"cupy"}:
            raise TypeError(f"arrays must all be NumPy or all be CuPy, got a mix of {sorted(kinds)}")
        import cupy

        return cupy
    return np


def is_dask_array(array):
    """Whether ``array`` is a ``dask.array.Array`` (checked without importing dask)."""
    return type(array).__module__.startswith("dask.array") and hasattr(array, "chunks")


def float_dtype(dtype):
    """Float dtype used for computation: float32/float64 kept, everything else float32."""
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def to_numpy(array):
    """Copy a CuPy array to the host; return NumPy arrays unchanged."""
    return array.get() if hasattr(array, "get") and not isinstance(array, np.ndarray) else array


# NumPy FFTs of stacks larger than this many bytes run in chunks of about this size, one
# chunk per core at a time, written into one output array: the chunks' temporaries stay small
# and are reused by the allocator, where whole-stack temporaries are fresh pages at every call
# (their page faults measured to cost as much as the transform itself for 36 maps of 540x540).
FFT_CHUNK_BYTES = 1 << 22
_fft_pool = None


def rfft2(array, *, xp, out=None):
    """Real 2-D FFT over the last two axes, using all cores on NumPy.

    Parameters
    ----------
    array : ndarray of shape (..., H, W), float
    out : ndarray of shape (..., H, W // 2 + 1) or None
        C-contiguous complex array to write into (a buffer reused across calls; on CuPy the
        result is copied into it).

    Returns
    -------
    ndarray of shape (..., H, W // 2 + 1)
    """
    if xp is not np:
        return _into(xp.fft.rfft2(array), out)
    import scipy.fft

    return _chunked(lambda part, workers: scipy.fft.rfft2(part, workers=workers), array,
                    array.shape[:-1] + (array.shape[-1] // 2 + 1,),
                    np.result_type(array.dtype, np.complex64), out)


def irfft2(array_hat, shape, *, xp, out=None):
    """Inverse of :func:`rfft2` for a real grid of ``shape = (height, width)``.

    ``out``: a C-contiguous real array of shape ``(..., height, width)`` to write into, or None.
    """
    if xp is not np:
        return _into(xp.fft.irfft2(array_hat, s=shape), out)
    import scipy.fft

    def inverse(part, workers):
        # two 1-D passes: measured 1.3-1.5x faster than scipy.fft.irfft2 for stacks of maps
        # (benchmarks/results/speed.md)
        columns = scipy.fft.ifft(part, n=shape[0], axis=-2, workers=workers)
        return scipy.fft.irfft(columns, n=shape[1], axis=-1, workers=workers, overwrite_x=True)

    real = np.finfo(array_hat.dtype).dtype
    return _chunked(inverse, array_hat, array_hat.shape[:-2] + tuple(shape), real, out)


def _into(result, out):
    """``result``, copied into ``out`` when one is given."""
    if out is None:
        return result
    out[...] = result
    return out


_thread_limit = threading.local()


def fft_threads():
    """Threads the FFTs of this thread may use: all cores, or the limit of :func:`limit_threads`."""
    return getattr(_thread_limit, "n", None) or os.cpu_count() or 1


@contextlib.contextmanager
def limit_threads(n_threads):
    """Within the block, the FFTs of the calling thread use at most ``n_threads`` threads.

    Distributed workers run each task on one thread (:mod:`csc.distributed`), so that the
    parallelism comes from the workers, not from threads competing for the same cores.
    """
    previous = getattr(_thread_limit, "n", None)
    _thread_limit.n = max(1, int(n_threads))
    try:
        yield
    finally:
        _thread_limit.n = previous


def _chunked(transform, array, out_shape, out_dtype, out):
    """``transform(array)`` over the last two axes, in chunks of maps on all cores when large.

    ``transform(part, workers)`` maps a stack ``(n, H, W)`` to its transform. Small inputs (or
    one core) take one call with all workers.
    """
    global _fft_pool
    map_bytes = array.dtype.itemsize * array.shape[-1] * array.shape[-2]
    n_maps = array.size // max(array.shape[-1] * array.shape[-2], 1)
    cores = fft_threads()
    if out is not None and (out.shape != tuple(out_shape) or out.dtype != out_dtype
                            or not out.flags.c_contiguous):
        raise ValueError(f"`out` must be a C-contiguous {np.dtype(out_dtype)} array of shape "
                         f"{tuple(out_shape)}, got {out.dtype} {out.shape}")
    if cores == 1 or n_maps < 2 or array.nbytes <= 2 * FFT_CHUNK_BYTES:
        return _into(transform(array, cores), out)
    if out is None:
        out = np.empty(out_shape, out_dtype)
    stack = array.reshape((n_maps,) + array.shape[-2:])
    target = out.reshape((n_maps,) + out.shape[-2:])
    step = max(1, min(FFT_CHUNK_BYTES // map_bytes, -(-n_maps // cores)))

    def run(start):
        target[start:start + step] = transform(stack[start:start + step], 1)

    if _fft_pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _fft_pool = ThreadPoolExecutor(os.cpu_count(), thread_name_prefix="csc-fft")
    for _ in _fft_pool.map(run, range(0, n_maps, step)):
        pass
    return out


def memory_size(xp):
    """Total memory in bytes of the device of ``xp`` (host RAM for NumPy), or None if unknown."""
    if xp is np:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        return int(xp.cuda.Device().mem_info[1])
    except Exception:  # an unknown backend: no check rather than a wrong one
        return None


def check_memory(name, value, shape, dtype, *, copies=1, xp):
    """Refuse, before allocating, arrays that cannot fit in the device's memory.

    Parameters
    ----------
    name, value
        The argument that sets the size, for the message.
    shape : tuple of int
        Shape of the largest array of the computation.
    dtype : dtype
    copies : int
        How many arrays of that size the computation holds at once.

    Raises
    ------
    ValueError
        ``copies`` arrays of ``shape`` need more bytes than the device has.
    """
    n_bytes = copies * np.dtype(dtype).itemsize * float(np.prod([float(n) for n in shape]))
    total = memory_size(xp)
    if total is not None and n_bytes > total:
        raise ValueError(f"`{name}` = {value!r} is too large for this input: {copies} arrays of "
                         f"shape {tuple(int(n) for n in shape)} ({np.dtype(dtype).name}) need "
                         f"{n_bytes / 2**30:.3g} GiB, more than the {total / 2**30:.3g} GiB of "
                         f"memory here")
