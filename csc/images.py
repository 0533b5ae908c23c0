"""Image arrays at the public boundary: one float policy, one channel layout, one mask rule.

Every public function that takes images (``ConvolutionalDictionary.fit/encode/objective``,
``restoration.inpaint/reconstruct``) goes through this module, so that they accept the same
inputs and say the same thing about bad ones.

- Float policy (:func:`as_float`): float32 and float64 are kept, float16 becomes float32;
  integers are divided by their dtype's largest value (unsigned to [0, 1], signed to [-1, 1]) and
  booleans become 0 and 1, in float32, as :func:`skimage.util.img_as_float32` does.
- Layout (:class:`ImageLayout`): the user's array, gray ``(H, W)`` or with a colour axis named by
  ``channel_axis`` (as in scikit-image), optionally with a leading image axis, is viewed as the
  internal ``(n_images, n_channels, H, W)`` and back.
- Masks (:func:`mask_weights`): the images' shape, or the spatial shape broadcast over channels;
  1 (True) where a pixel is observed.
- :func:`prepare_signal` does all three and places the images on the padded grid of
  :mod:`csc.fourier` for the solvers.
"""

from dataclasses import dataclass

import numpy as np

from .backend import array_module, float_dtype
from .fourier import pad_signal

__all__ = ["ImageLayout", "image_layout", "as_array", "as_float", "mask_weights",
           "prepare_signal"]


@dataclass(frozen=True)
class ImageLayout:
    """How a user's image array maps onto ``(n_images, n_channels, H, W)``.

    Attributes
    ----------
    shape : tuple of int
        The user's shape.
    channel_axis : int or None
        Non-negative axis of the colour channels in the user's array (None: gray).
    batched : bool
        Whether the user's array has a leading image axis.
    """

    shape: tuple
    channel_axis: object
    batched: bool

    @property
    def internal_shape(self):
        """``(n_images, n_channels, H, W)``."""
        n_images = self.shape[0] if self.batched else 1
        if self.channel_axis is None:
            return (n_images, 1) + tuple(self.shape[-2:])
        spatial = [n for axis, n in enumerate(self.shape)
                   if axis != self.channel_axis and (axis > 0 or not self.batched)]
        return (n_images, self.shape[self.channel_axis]) + tuple(spatial)

    @classmethod
    def of_stack(cls, internal_shape, channel_axis):
        """The layout of a stack of images whose internal shape is ``internal_shape``.

        Parameters
        ----------
        internal_shape : (n_images, n_channels, H, W)
        channel_axis : int or None
            Axis of the colour channels in one image, as :func:`image_layout` takes it (a valid
            one: negative counts from the end of one image's three axes).

        Returns
        -------
        ImageLayout
            Batched: ``(n_images, H, W)``, or ``(n_images,)`` followed by ``(H, W)`` with the
            channel axis inserted at ``channel_axis``.
        """
        n_images, n_channels, height, width = internal_shape
        if channel_axis is None:
            return cls((n_images, height, width), None, True)
        image_shape = [height, width]
        image_shape.insert(channel_axis % 3, n_channels)
        return cls((n_images, *image_shape), channel_axis % 3 + 1, True)

    def to_internal(self, array, *, xp):
        """View an array of the user's shape as ``(n_images, n_channels, H, W)``."""
        array = array if self.batched else array[None]
        if self.channel_axis is None:
            return array[:, None]
        return xp.moveaxis(array, self.channel_axis + (0 if self.batched else 1), 1)

    def from_internal(self, array, *, xp):
        """Inverse of :meth:`to_internal` (for arrays of the same spatial size or not)."""
        if self.channel_axis is None:
            array = array[:, 0]
        else:
            array = xp.moveaxis(array, 1, self.channel_axis + (0 if self.batched else 1))
        return array if self.batched else array[0]


def as_array(values, *, name, xp=None):
    """``values`` as an array of ``xp`` (chosen from ``values`` when None).

    Raises
    ------
    ValueError
        Nested sequences of different lengths (images of different sizes) or anything else that
        is not an array, naming the argument.
    """
    xp = array_module(values) if xp is None else xp
    try:
        return xp.asarray(values)
    except (ValueError, TypeError) as error:
        raise ValueError(f"`{name}` must be an array, or a list of arrays of one shape (images "
                         f"of one size): {error}") from None


def image_layout(images, channel_axis=None, *, batch=True, name="images"):
    """Check the dimensions of ``images`` and return their :class:`ImageLayout`.

    Parameters
    ----------
    images : array of shape (H, W) or (H, W, C)-like with ``channel_axis``; with ``batch``, also
        with a leading image axis, ``(n_images, H, W)`` or ``(n_images, H, W, C)``-like.
    channel_axis : int or None
        Axis of the colour channels in one image (negative counts from the end).
    batch : bool
        Accept a leading image axis.
    name : str
        Argument name for the error messages.

    Raises
    ------
    ValueError
        Wrong number of dimensions, ``channel_axis`` out of range, or an empty axis.

    Examples
    --------
    >>> import numpy as np
    >>> layout = image_layout(np.zeros((5, 32, 48, 3)), channel_axis=-1)
    >>> layout.internal_shape, layout.batched
    ((5, 3, 32, 48), True)
    """
    if not hasattr(images, "shape"):
        images = as_array(images, name=name)
    ndim = len(images.shape)
    shape = tuple(images.shape)
    single_ndim = 2 if channel_axis is None else 3
    if ndim not in ((single_ndim, single_ndim + 1) if batch else (single_ndim,)):
        if channel_axis is None:
            expected = "(H, W) or (n_images, H, W)" if batch else "(H, W)"
            hint = "; pass `channel_axis` for colour images" if ndim == single_ndim + 1 \
                and not batch else ""
        else:
            expected = "(H, W, C) or (n_images, H, W, C)" if batch else "(H, W, C)"
            hint = ""
        raise ValueError(f"`{name}` must have shape {expected}, got shape {shape}{hint}")
    batched = ndim == single_ndim + 1
    axis = None
    if channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, int | np.integer) \
                or not -3 <= channel_axis <= 2:
            raise ValueError(f"`channel_axis` must be None or an integer in [-3, 2], got "
                             f"{channel_axis!r}")
        axis = int(channel_axis) % 3 + (1 if batched else 0)
    if 0 in shape:
        raise ValueError(f"`{name}` is empty: shape {shape}")
    return ImageLayout(shape, axis, batched)


def as_float(images, *, name="images", finite=True, integer_dtype=np.float32):
    """Images as floats by the package's policy (module docstring); NaN/inf refused.

    Parameters
    ----------
    images : NumPy or CuPy array
    name : str
    finite : bool
        Refuse NaN and infinite values (False: the caller checks where they matter).
    integer_dtype : float dtype
        Precision of the result for integer and boolean input (float32 by the policy; float64
        where a caller promises float64, as :func:`restoration.preprocess.rgb_to_gray` does).

    Returns
    -------
    array of float32 or float64 (the input itself when already float32/float64)

    Raises
    ------
    ValueError
        A dtype that is not numeric, or a NaN or infinite value (with ``finite``).

    Examples
    --------
    >>> import numpy as np
    >>> as_float(np.array([0, 51, 255], np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    xp = array_module(images)
    images = as_array(images, name=name, xp=xp)
    dtype = images.dtype
    if dtype.kind in "ui":
        images = images.astype(integer_dtype) / np.iinfo(dtype).max
        if dtype.kind == "i":
            images = xp.maximum(images, -1)  # the most negative integer maps to -1 too
    elif dtype.kind == "b":
        images = images.astype(integer_dtype)
    elif dtype.kind == "f":
        images = images.astype(float_dtype(dtype), copy=False)
    else:
        raise ValueError(f"`{name}` must hold real numbers (float, integer or bool), got dtype "
                         f"{dtype}")
    if finite and not bool(xp.all(xp.isfinite(images))):
        raise ValueError(f"`{name}` contains NaN or infinite values")
    return images


def mask_weights(mask, layout, *, dtype, binary=False, each_channel=False, name="mask"):
    """Data weights ``(n_images, n_channels, H, W)`` from a mask in the user's layout.

    Parameters
    ----------
    mask : array
        The images' shape, or (for colour images) their shape without the channel axis, which is
        then shared by every channel. 1 (True) where a pixel is observed, 0 where it is missing.
    layout : ImageLayout
        Of the images.
    dtype : dtype
        Of the weights.
    binary : bool
        Accept only booleans and 0/1; otherwise any finite non-negative weights.
    each_channel : bool
        Require an observed pixel in every image and channel, not only somewhere.
    name : str

    Raises
    ------
    ValueError
        Wrong shape or values, or no observed pixel (in some image or channel).
    """
    xp = array_module(mask)
    mask = as_array(mask, name=name, xp=xp)
    if mask.shape == layout.shape:
        weights = layout.to_internal(mask, xp=xp)
    elif layout.channel_axis is not None and mask.shape == _without(layout.shape,
                                                                    layout.channel_axis):
        weights = xp.broadcast_to(xp.expand_dims(mask, layout.channel_axis), layout.shape)
        weights = layout.to_internal(weights, xp=xp)
    else:
        expected = f"{layout.shape}" if layout.channel_axis is None else \
            f"{layout.shape} or {_without(layout.shape, layout.channel_axis)}"
        raise ValueError(f"`{name}` must have shape {expected} (that of the images), got "
                         f"{mask.shape}")
    if mask.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must be boolean or numeric, got dtype {mask.dtype}")
    if binary and mask.dtype != bool and not bool(xp.all((mask == 0) | (mask == 1))):
        raise ValueError(f"`{name}` must be boolean or hold only 0 and 1 (1 = observed)")
    weights = weights.astype(dtype)
    if not bool(xp.all(xp.isfinite(weights))) or bool(xp.any(weights < 0)):
        raise ValueError(f"`{name}` must be finite and non-negative (1 observed, 0 missing)")
    if each_channel and not bool(xp.all(xp.any(weights > 0, axis=(2, 3)))):
        raise ValueError(f"`{name}` has no observed pixel (in some channel)")
    if not bool(xp.any(weights > 0)):
        raise ValueError(f"`{name}` has no observed pixel")
    return xp.ascontiguousarray(weights)


def prepare_signal(images, mask, *, filter_size, channel_axis, n_channels=None):
    """Validate images and mask; return the padded ``(signal, weights, xp)``, channels first.

    Parameters
    ----------
    images, mask, channel_axis
        As in :func:`csc.learn_dictionary` (a mask of weights, not only 0/1).
    filter_size : int
    n_channels : int or None
        Required number of channels (a fitted dictionary's).

    Returns
    -------
    signal, weights : ndarray of shape (n_images, n_channels, H + s - 1, W + s - 1)
        The images zeroed where unobserved, and the mask as float weights, zero on the padding.
    xp : module
    """
    xp = array_module(images, mask)
    images = as_array(images, name="images", xp=xp)
    layout = image_layout(images, channel_axis)
    signal = layout.to_internal(as_float(images), xp=xp)
    height, width = signal.shape[-2:]
    if min(height, width) < filter_size:
        raise ValueError(f"`filter_size` ({filter_size}) is larger than the images "
                         f"({height}x{width})")
    if n_channels is not None and signal.shape[1] != n_channels:
        raise ValueError(f"`images` have {signal.shape[1]} channels, the dictionary {n_channels}")
    if mask is None:
        weights = xp.ones(signal.shape, signal.dtype)
    else:
        weights = mask_weights(mask, layout, dtype=signal.dtype)
    return (pad_signal(signal * (weights > 0), filter_size, xp=xp),
            pad_signal(weights, filter_size, xp=xp), xp)


def _without(shape, axis):
    return shape[:axis] + shape[axis + 1:]
