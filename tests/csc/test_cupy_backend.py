"""The CuPy path runs the same code as NumPy; skipped without CuPy and a CUDA device."""

import numpy as np
import pytest

from csc import ConvolutionalDictionary, array_module


def cupy_or_skip():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as error:  # CUDA driver missing
        pytest.skip(f"CUDA unavailable: {error}")
    return cupy


def test_array_module_is_numpy_for_numpy_input_and_rejects_mixtures():
    assert array_module(np.zeros(2), None) is np
    with pytest.raises(TypeError):
        array_module(np.zeros(2), type("FakeCupy", (), {"__module__": "cupy._core"})())


@pytest.mark.gpu
def test_cupy_fit_matches_numpy(smooth_images):
    cupy = cupy_or_skip()
    rng = np.random.default_rng(0)
    mask = rng.random(smooth_images.shape) > 0.2
    options = dict(n_filters=5, filter_size=5, sparsity_weight=0.1, max_iter=4, random_state=0,
                   optimizer="cogd")
    cpu = ConvolutionalDictionary(**options).fit(smooth_images, mask)
    gpu = ConvolutionalDictionary(**options).fit(cupy.asarray(smooth_images), cupy.asarray(mask))
    assert isinstance(gpu.filters_, cupy.ndarray)
    np.testing.assert_allclose(gpu.filters_.get(), cpu.filters_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gpu.history_["objective"], cpu.history_["objective"], rtol=1e-8)
    codes = gpu.encode(cupy.asarray(smooth_images))
    assert isinstance(codes, cupy.ndarray)
    np.testing.assert_allclose(gpu.decode(codes).get(),
                               cpu.decode(cpu.encode(smooth_images)), atol=1e-6)


@pytest.mark.gpu
def test_cupy_masked_fista_and_restore_match_numpy():
    cupy = cupy_or_skip()
    from restoration import restore

    rng = np.random.default_rng(1)
    image = rng.random((40, 40)).astype(np.float32)
    mask = rng.random(image.shape) > 0.5
    settings = dict(smoothing=1.0, sparsity_weight=0.25, max_iter=30)
    cpu = restore(image, mask, **settings)
    gpu = restore(cupy.asarray(image), cupy.asarray(mask), **settings)
    assert isinstance(gpu.image, cupy.ndarray)
    np.testing.assert_allclose(gpu.image.get(), cpu.image, atol=1e-4)
    assert gpu.objective == pytest.approx(cpu.objective, rel=1e-4)
