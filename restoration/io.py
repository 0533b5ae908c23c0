"""Reading and writing images (PNG, JPEG, TIFF via imageio; 16-bit PNG with colour or alpha via
:mod:`restoration.png16`) and text files; every write is atomic
(:func:`csc.persistence.atomic_write`, re-exported here)."""

from pathlib import Path

import numpy as np

from csc.backend import to_numpy
from csc.images import as_float
from csc.persistence import atomic_write
from csc.validation import check_int

from .masks import observed_pixels
from .png16 import decode_png16, encode_png16, is_png16

__all__ = ["read_image", "read_mask", "encode_image", "write_image", "write_bytes",
           "atomic_write", "write_text", "IMAGE_SUFFIXES", "JPEG_QUALITY"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def read_image(path):
    """Read a gray or colour image, dropping an alpha channel.

    Returns
    -------
    ndarray of shape (H, W) or (H, W, 3)
        As stored (uint8, uint16 or float).

    Raises
    ------
    ValueError
        Unreadable file (one line naming it and what was expected), or not a 2-D gray/RGB image.
    """
    import imageio.v3 as iio

    name = repr(str(path))
    try:
        with open(path, "rb") as stream:
            header = stream.read(26)
    except IsADirectoryError:
        raise ValueError(f"cannot read image {name}: a folder, not an image file") from None
    except OSError as error:  # missing, no permission
        raise ValueError(f"cannot read image {name}: {error.strerror or error}") from None
    if not header:
        raise ValueError(f"cannot read image {name}: the file is empty (expected a PNG, JPEG or "
                         f"TIFF image)")
    try:
        image = np.asarray(decode_png16(Path(path).read_bytes()) if is_png16(header) else
                           iio.imread(path))
    except Exception:  # imageio raises many types, in its backends' words
        raise ValueError(f"cannot read image {name}: expected a PNG, JPEG or TIFF image; this "
                         f"file is not one, or is damaged") from None
    if image.dtype.kind not in "biuf" or 0 in image.shape:
        raise ValueError(f"{str(path)!r}: expected an image of numbers, got shape {image.shape} "
                         f"and dtype {image.dtype}")
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        image = image[..., :-1]  # gray + alpha or RGBA
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)):
        raise ValueError(f"{str(path)!r}: expected a gray or RGB image, got shape {image.shape}")
    return image


def read_mask(path, shape):
    """Read a mask image by the one mask rule (:func:`restoration.masks.observed_pixels`).

    A mask of only 0 and 1 is taken as it is (1 = observed); any other is cut at half its
    dtype's range (uint8 by 255, uint16 by 65535, floats kept): white = observed. In a colour
    mask a pixel is observed only where it is in every channel (a pixel black in any channel
    counts as missing).

    Parameters
    ----------
    path : path-like
    shape : (int, int)
        The image's ``(H, W)``.

    Returns
    -------
    ndarray of bool of shape ``shape``

    Raises
    ------
    ValueError
        Unreadable file, NaN values, a size other than ``shape``, or no observed pixel.
    """
    mask = read_image(path)
    if mask.ndim == 3:
        mask = mask.min(axis=-1)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask {str(path)!r} has size {mask.shape}, the image {tuple(shape)}")
    observed = observed_pixels(mask, name=f"mask {str(path)!r}")
    if not observed.any():
        raise ValueError(f"mask {str(path)!r} has no observed (white) pixel")
    return observed


JPEG_QUALITY = 95


def encode_image(image, suffix, *, like=np.uint8, quality=JPEG_QUALITY):
    """Encode an image in [0, 1] in a file format, in memory.

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, 1) or (H, W, 3); (H, W, 2) or (H, W, 4) with alpha
        for PNG and TIFF
        Floats in [0, 1], or integers and booleans scaled by :func:`csc.images.as_float`.
    suffix : str
        ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff`` (any case).
    like : dtype
        Stored dtype: uint16 kept for TIFF and PNG, floats kept for TIFF, uint8 otherwise.
    quality : int in [1, 100]
        JPEG quality (ignored for the other formats).

    Returns
    -------
    (bytes, ndarray)
        The file's bytes and the image decoded from them (the file's dtype): what a reader of
        the file gets, JPEG losses and rounding included.

    Raises
    ------
    ValueError
        An unknown suffix or dtype, a shape that is not an image (or alpha for JPEG), NaN or
        infinite values, or values outside [0, 1], naming the argument.
    """
    import imageio.v3 as iio

    suffix = suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"`suffix` must be one of {', '.join(IMAGE_SUFFIXES)}, got {suffix!r}")
    try:
        like = np.dtype(like)
    except TypeError:
        raise ValueError(f"`like` must be a NumPy dtype, got {like!r}") from None
    check_int("quality", quality, 1, 100)
    image = to_numpy(image)
    shape = tuple(np.shape(image))
    jpeg = suffix in (".jpg", ".jpeg")
    channels = (1, 3) if jpeg else (1, 2, 3, 4)
    if not (len(shape) == 2 or (len(shape) == 3 and shape[-1] in channels)) or 0 in shape:
        kinds = "(H, W) or (H, W, 3)" + ("" if jpeg else ", or with alpha (H, W, 2) or (H, W, 4)")
        raise ValueError(f"`image` must have shape {kinds} for {suffix}, got {shape}")
    image = as_float(image, name="image")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.min() < -1e-6 or image.max() > 1 + 1e-6:
        raise ValueError(f"`image` values must lie in [0, 1], got [{image.min():.4g}, "
                         f"{image.max():.4g}]")
    image = np.clip(image.astype(np.float64), 0.0, 1.0)
    tiff = suffix in (".tif", ".tiff")
    if like.kind == "f" and tiff:
        stored = image.astype(np.float32)
    elif like == np.uint16 and not jpeg:
        stored = np.round(image * 65535).astype(np.uint16)
    else:
        stored = np.round(image * 255).astype(np.uint8)
    if stored.dtype == np.uint16 and stored.ndim == 3 and suffix == ".png":
        data = encode_png16(stored)
        return data, decode_png16(data)
    options = {"quality": int(quality)} if jpeg else {}
    data = iio.imwrite("<bytes>", stored, extension=suffix, **options)
    return data, np.asarray(iio.imread(data, extension=suffix))


def write_image(path, image, like=np.uint8, *, quality=JPEG_QUALITY):
    """Write an image in [0, 1] atomically (temporary file, then rename).

    Parameters
    ----------
    path : path-like
        ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``.
    image, like, quality
        As in :func:`encode_image`.

    Returns
    -------
    ndarray
        The image as stored, decoded from the written bytes (what :func:`read_image` returns
        for the file, before its alpha channel is dropped).

    Raises
    ------
    ValueError
        As :func:`encode_image`; nothing is written.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"output {str(path)!r} must end with one of {', '.join(IMAGE_SUFFIXES)}")
    data, stored = encode_image(image, suffix, like=like, quality=quality)
    write_bytes(path, data)
    return stored


def write_bytes(path, data):
    """Write bytes atomically."""

    def write(temporary):
        with open(temporary, "wb") as stream:
            stream.write(data)

    atomic_write(path, write)


def write_text(path, text):
    """Write a text file atomically."""

    def write(temporary):
        with open(temporary, "w") as stream:
            stream.write(text)

    atomic_write(path, write)
