"""The one mask rule of the restoration API and the ``cogd`` command line.

A mask marks the observed pixels: True or 1 = observed, False or 0 = missing. A mask that holds
only 0 and 1 (booleans, or numbers of any dtype) is taken as it is. Any other mask is read as an
image, white = observed: its values are scaled by the project's float policy
(:func:`csc.images.as_float`: uint8 by 255, uint16 by 65535, floats as they are) and a pixel is
observed where its value is above one half. So a 0/1 array, a 0/255 uint8 image and a 0/65535
uint16 image mark the same pixels, and a mask image with grey levels (anti-aliased, or saved as
JPEG) is cut at half its range. :func:`restoration.restore` (``inpaint``, ``reconstruct``, the
block-wise path), :func:`restoration.metrics.psnr_missing` and ``cogd inpaint --mask`` (after
reading the file; in a colour mask file a pixel is observed where it is in every channel) all
apply :func:`observed_pixels`.
"""

from functools import partial

import numpy as np

from csc.backend import array_module, is_dask_array
from csc.images import as_array, as_float

__all__ = ["observed_pixels"]


def observed_pixels(mask, *, name="mask"):
    """The observed pixels of ``mask`` by the rule of the module docstring.

    Parameters
    ----------
    mask : array_like, NumPy, CuPy or dask array, of bool or numbers
    name : str
        The argument's name in errors.

    Returns
    -------
    array of bool of the shape of ``mask``
        In the mask's library (a dask mask: lazy, after one pass that computes whether it holds
        only 0 and 1, so that every block is read by the same rule).

    Raises
    ------
    ValueError
        A mask that does not hold numbers, or with NaN or infinite values (not only 0 and 1).

    Examples
    --------
    >>> import numpy as np
    >>> observed_pixels(np.array([0, 1, 1], np.uint8))  # only 0 and 1: as it is
    array([False,  True,  True])
    >>> observed_pixels(np.array([0, 1, 127, 128, 255], np.uint8))  # an image: cut at half
    array([False, False, False,  True,  True])
    """
    if not is_dask_array(mask):
        mask = as_array(mask, name=name, xp=array_module(mask))
    if mask.dtype == bool:
        return mask
    if mask.dtype.kind not in "iuf":
        raise ValueError(f"`{name}` must be boolean or numeric, got dtype {mask.dtype}")
    if bool(((mask == 0) | (mask == 1)).all()):
        return mask == 1
    if is_dask_array(mask):
        return mask.map_blocks(partial(_above_half, name=name), dtype=bool)
    return _above_half(mask, name=name)


def _above_half(mask, *, name):
    """The image rule: white (above half the range of the dtype, or 0.5 for floats) observed."""
    return as_float(mask, name=name) > np.float32(0.5)
