"""Bundled datasets: the fruit and city image sets of the CSC literature (checksummed).

Both sets hold ten RGB 100x100 JPEG images (``1.jpg`` .. ``10.jpg``, the column order of the
published tables); see ``data/README.md`` for provenance.
"""

import hashlib
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SETS", "image_paths", "load_image_set"]

DATA_DIR = Path(__file__).resolve().parent
IMAGE_SETS = ("fruit", "city")

_SHA256 = {
    "fruit": (
        "3a92ceaa0bc399012366b883b126326bbdee04c66f16a84577d00550fd860b8b",
        "cf4c189c6aead770d8e7f6b56da9e40ced0fcc19cdc4903a7a72ef3a650541cf",
        "3820f7dd8f3e18174c28a36f5d4b2a55d25df97cb6d1a297fb1d80ff2b8cbd0a",
        "1f7b98bb0e14d60ba5ab35520d65ed923b4c21bf4692026fc7532f35ac619d58",
        "7eccdef2ddedb75ccbfa45ea308d8a89c1bff1aac528e2c194ccd4fee69839b5",
        "8d034f7c7735fc29b58d4805086d955a4e1228016690ff2b1965ed212f04b8e9",
        "2f25fc2d7749b8fbf1ed2fb8700468678f367a0d29dbff1f7798205d5f3cf06f",
        "fe3d7baed58e5c3a9b1f5a23105c3f92f01f2745f1d28f551aad313e3921cac6",
        "ed796f8dc9e9d160c0d4d776843f5e7db920efda6d9785a6e1aa9ebc93ded888",
        "99595156ed39c9ac16f404d895cc537271e7e1e8746465579320bcc518c6d1cd",
    ),
    "city": (
        "843175aeb31c831d5aacbd2e7fa46251ae46d91b7a777fc9b22de2b506564a5d",
        "d4afec02330f2f3a9ddd518165a36a98bbcbacb35407547d113f21ba858ca3ec",
        "58496e6cfff392e0f127a779ccab7d4ae5f5a2878247653d6d48cb271afd8ace",
        "4fcdcfd4acc991a3c207b7c541e3efec211df9a05f5f2844cbc8bf4424140279",
        "f603ad6758f31cfb35d6e0134a7887c9770d21a62f003c92693386041b8dbd00",
        "afa7ea6df8667ca41045ccf892a428fe797ff9a825e454b1f2cf206f8bd86192",
        "98da5677563aaab967343bc10b719eb530e4af972dcfb2cb240c4153a2f777dc",
        "e1ff8f5c7938a6159dbaef939631493d88ad078de6d495fd34ddf828e319ae37",
        "90f0da5fdb50b92d4033b371f5cd493cca338372f7dc49ce49c82df8c3cef3c5",
        "319b463bccc1de5a8e93b02202fa2860992c8056bd4e40ec65e4b9fc60db4e8b",
    ),
}


def image_paths(name, root=None):
    """Paths of the ten images of a set, in table order (``1.jpg`` .. ``10.jpg``).

    Parameters
    ----------
    name : {'fruit', 'city'}
    root : path-like or None
        Folder holding ``<name>_100_100/``; the bundled copy when None.
    """
    if name not in IMAGE_SETS:
        raise ValueError(f"`name` must be one of {IMAGE_SETS}, got {name!r}")
    folder = Path(root) if root is not None else DATA_DIR
    return [folder / f"{name}_100_100" / f"{i}.jpg" for i in range(1, 11)]


def load_image_set(name, root=None, *, verify=True):
    """Load a bundled image set as RGB ``uint8``.

    Parameters
    ----------
    name : {'fruit', 'city'}
    root : path-like or None
        Folder holding ``<name>_100_100/`` (a local copy); the bundled copy when None.
    verify : bool
        Check every file's sha256 against the published checksum.

    Returns
    -------
    ndarray of shape (10, 100, 100, 3), dtype uint8

    Raises
    ------
    ValueError
        Unknown set, or a file whose checksum does not match.
    FileNotFoundError
        A missing file.
    """
    import imageio.v3 as iio

    images = []
    for path, expected in zip(image_paths(name, root), _SHA256[name], strict=True):
        content = path.read_bytes()
        if verify and hashlib.sha256(content).hexdigest() != expected:
            raise ValueError(f"checksum mismatch for {path}: the file is not the published image")
        images.append(iio.imread(content, extension=".jpg"))
    return np.stack(images)
