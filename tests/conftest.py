import numpy as np
import pytest


@pytest.fixture
def smooth_images():
    """Three smooth 20x20 images with unit variance (a small learnable problem)."""
    from scipy import ndimage

    rng = np.random.default_rng(7)
    images = np.stack([ndimage.gaussian_filter(x, 1.0) for x in rng.standard_normal((3, 20, 20))])
    return images / images.std()
