"""Backend (NumPy or CuPy) and dtype policy, chosen from the input arrays."""

import os

import numpy as np

__all__ = ["array_module", "float_dtype", "to_numpy", "rfft2", "irfft2", "memory_size",
           "check_memory"]


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


def float_dtype(dtype):
    """Float dtype used for computation: float32/float64 kept, everything else float32."""
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def to_numpy(array):
    """Copy a CuPy array to the host; return NumPy arrays unchanged."""
    return array.get() if hasattr(array, "get") and not isinstance(array, np.ndarray) else array


def rfft2(array, *, xp):
    """Real 2-D FFT over the last two axes, using all cores on NumPy."""
    if xp is np:
        import scipy.fft

        return scipy.fft.rfft2(array, workers=-1)
    return xp.fft.rfft2(array)


def irfft2(array_hat, shape, *, xp):
    """Inverse of :func:`rfft2` for a real grid of ``shape = (height, width)``."""
    if xp is np:
        import scipy.fft

        # two 1-D passes: measured 1.3-1.5x faster than scipy.fft.irfft2 for stacks of maps
        # (benchmarks/results/speed.md)
        columns = scipy.fft.ifft(array_hat, n=shape[0], axis=-2, workers=-1)
        return scipy.fft.irfft(columns, n=shape[1], axis=-1, workers=-1, overwrite_x=True)
    return xp.fft.irfft2(array_hat, s=shape)


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
