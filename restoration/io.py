"""Reading and writing images (PNG, JPEG, TIFF via imageio) and text files; every write is
atomic (:func:`csc.persistence.atomic_write`, re-exported here)."""

from pathlib import Path

import numpy as np

from csc.persistence import atomic_write

__all__ = ["read_image", "read_mask", "write_image", "atomic_write", "write_text",
           "IMAGE_SUFFIXES"]

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
        Unreadable file, or not a 2-D gray/RGB image.
    """
    import imageio.v3 as iio

    try:
        image = np.asarray(iio.imread(path))
    except Exception as error:  # imageio raises many types for unreadable files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ValueError(f"cannot read image {str(path)!r}: {reason}") from None
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        image = image[..., :-1]  # gray + alpha or RGBA
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)):
        raise ValueError(f"{str(path)!r}: expected a gray or RGB image, got shape {image.shape}")
    return image


def read_mask(path, shape):
    """Read a mask image: pixels brighter than half the range are observed.

    Parameters
    ----------
    path : path-like
    shape : (int, int)
        The image's ``(H, W)``.

    Returns
    -------
    ndarray of bool of shape ``shape``
    """
    mask = read_image(path)
    if mask.ndim == 3:
        mask = mask.max(axis=-1)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask {str(path)!r} has size {mask.shape}, the image {tuple(shape)}")
    high = np.iinfo(mask.dtype).max if mask.dtype.kind in "ui" else 1.0
    observed = mask > high / 2
    if not observed.any():
        raise ValueError(f"mask {str(path)!r} has no observed (white) pixel")
    return observed


def write_image(path, image, like=np.uint8):
    """Write an image in [0, 1] atomically (temporary file, then rename).

    Parameters
    ----------
    path : path-like
        ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``.
    image : ndarray of shape (H, W) or (H, W, 3), floats in [0, 1]
    like : dtype
        Stored dtype: uint16 kept for TIFF and gray PNG, floats kept for TIFF, uint8 otherwise.
    """
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"output {str(path)!r} must end with one of {', '.join(IMAGE_SUFFIXES)}")
    like = np.dtype(like)
    image = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    if like.kind == "f" and suffix in (".tif", ".tiff"):
        stored = image.astype(np.float32)
    elif like == np.uint16 and (suffix in (".tif", ".tiff") or image.ndim == 2 and suffix == ".png"):
        stored = np.round(image * 65535).astype(np.uint16)
    else:
        stored = np.round(image * 255).astype(np.uint8)
    atomic_write(path, lambda temporary: iio.imwrite(temporary, stored))


def write_text(path, text):
    """Write a text file atomically."""

    def write(temporary):
        with open(temporary, "w") as stream:
            stream.write(text)

    atomic_write(path, write)
