import numpy as np
import pytest

from csc.fourier import (
    analyze,
    crop_signal,
    filter_adjoint,
    pad_filters,
    pad_signal,
    spatial,
    spectra,
    synthesize,
)


def circular_convolution(kernel, image):
    """Direct circular convolution on the grid of ``image`` (kernel at the origin)."""
    height, width = image.shape
    out = np.zeros_like(image)
    for dy in range(kernel.shape[0]):
        for dx in range(kernel.shape[1]):
            out += kernel[dy, dx] * np.roll(image, (dy, dx), axis=(0, 1))
    return out


def random_problem(rng, n_images=2, n_channels=1, n_filters=3, size=9, filter_size=4):
    grid = (size + filter_size - 1, size + 2 * filter_size - 1)
    filters = rng.standard_normal((n_filters, n_channels, filter_size, filter_size))
    codes = rng.standard_normal((n_images, n_filters) + grid)
    return filters, codes, grid


@pytest.mark.parametrize("n_channels", [1, 3])
def test_synthesize_matches_direct_circular_convolution(n_channels):
    rng = np.random.default_rng(0)
    filters, codes, grid = random_problem(rng, n_channels=n_channels)
    filters_hat = spectra(pad_filters(filters, grid, xp=np), xp=np)
    result = spatial(synthesize(filters_hat, spectra(codes, xp=np), xp=np), grid, xp=np)
    expected = np.zeros((codes.shape[0], n_channels) + grid)
    for n in range(codes.shape[0]):
        for c in range(n_channels):
            for k in range(filters.shape[0]):
                expected[n, c] += circular_convolution(filters[k, c], codes[n, k])
    np.testing.assert_allclose(result, expected, atol=1e-10)


def test_padded_convolution_equals_linear_convolution_on_the_image():
    """Inside the image, the circular convolution on the padded grid is the linear one."""
    from scipy.signal import convolve2d

    rng = np.random.default_rng(1)
    size, s = 10, 5
    codes = rng.standard_normal((1, 1, size + s - 1, size + s - 1))
    kernel = rng.standard_normal((1, 1, s, s))
    grid = codes.shape[-2:]
    result = spatial(synthesize(spectra(pad_filters(kernel, grid, xp=np), xp=np),
                                spectra(codes, xp=np), xp=np), grid, xp=np)
    linear = convolve2d(codes[0, 0], kernel[0, 0], mode="valid")  # (size, size)
    np.testing.assert_allclose(crop_signal(result, s)[0, 0], linear, atol=1e-10)


@pytest.mark.parametrize("n_channels", [1, 2])
def test_analyze_is_the_adjoint_of_synthesize(n_channels):
    rng = np.random.default_rng(2)
    filters, codes, grid = random_problem(rng, n_channels=n_channels)
    residual = rng.standard_normal((codes.shape[0], n_channels) + grid)
    filters_hat = spectra(pad_filters(filters, grid, xp=np), xp=np)
    forward = spatial(synthesize(filters_hat, spectra(codes, xp=np), xp=np), grid, xp=np)
    backward = spatial(analyze(filters_hat, spectra(residual, xp=np), xp=np), grid, xp=np)
    assert np.vdot(forward, residual) == pytest.approx(np.vdot(codes, backward), rel=1e-10)


def test_filter_adjoint_is_the_adjoint_with_respect_to_filters():
    rng = np.random.default_rng(3)
    filters, codes, grid = random_problem(rng, n_channels=2)
    padded = pad_filters(filters, grid, xp=np)
    residual = rng.standard_normal((codes.shape[0], 2) + grid)
    codes_hat = spectra(codes, xp=np)
    forward = spatial(synthesize(spectra(padded, xp=np), codes_hat, xp=np), grid, xp=np)
    backward = spatial(filter_adjoint(codes_hat, spectra(residual, xp=np), xp=np), grid, xp=np)
    assert np.vdot(forward, residual) == pytest.approx(np.vdot(padded, backward), rel=1e-10)


def test_code_is_centred_on_its_image_pixel():
    """A unit code at padded index q reproduces the filter centred on image pixel q - r."""
    s, size = 5, 12
    kernel = np.zeros((1, 1, s, s))
    kernel[0, 0, 2, 2] = 1.0  # centre tap
    codes = np.zeros((1, 1, size + s - 1, size + s - 1))
    codes[0, 0, 7, 9] = 1.0
    grid = codes.shape[-2:]
    image = crop_signal(spatial(synthesize(spectra(pad_filters(kernel, grid, xp=np), xp=np),
                                           spectra(codes, xp=np), xp=np), grid, xp=np), s)
    assert np.unravel_index(np.argmax(image[0, 0]), image.shape[-2:]) == (7 - 2, 9 - 2)


def test_pad_then_crop_is_identity():
    image = np.arange(30.0).reshape(1, 1, 5, 6)
    padded = pad_signal(image, 4, xp=np)
    assert padded.shape == (1, 1, 8, 9)
    np.testing.assert_array_equal(crop_signal(padded, 4), image)
    assert padded.sum() == image.sum()


def test_signal_on_a_larger_grid_is_placed_like_the_exact_padding():
    rng = np.random.default_rng(5)
    signal, s = rng.standard_normal((2, 1, 7, 9)), 4
    exact = pad_signal(signal, s, xp=np)
    grown = pad_signal(signal, s, grid_shape=(12, 16), xp=np)
    assert grown.shape == (2, 1, 12, 16)
    np.testing.assert_array_equal(grown[..., :exact.shape[-2], :exact.shape[-1]], exact)
    assert not grown[..., exact.shape[-2]:, :].any() and not grown[..., exact.shape[-1]:].any()
    np.testing.assert_array_equal(crop_signal(grown, s, signal.shape[-2:]), signal)
    np.testing.assert_array_equal(crop_signal(exact, s), signal)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_transforms_into_buffers_equal_numpy_fft(monkeypatch, dtype):
    import csc.backend

    monkeypatch.setattr(csc.backend, "FFT_CHUNK_BYTES", 64 * 8)  # 2 maps of 8x8 per chunk
    monkeypatch.setattr(csc.backend.os, "cpu_count", lambda: 2)
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((3, 5, 8, 9)).astype(dtype)  # 15 maps: chunks of 2, last of 1
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    expected_hat = np.fft.rfft2(maps)
    out_hat = np.empty(expected_hat.shape, np.result_type(dtype, np.complex64))
    assert spectra(maps, xp=np, out=out_hat) is out_hat
    np.testing.assert_allclose(out_hat, expected_hat, atol=tolerance)
    out = np.empty_like(maps)
    assert spatial(out_hat, maps.shape[-2:], xp=np, out=out) is out
    np.testing.assert_allclose(out, maps, atol=tolerance)
    np.testing.assert_allclose(spatial(out_hat, maps.shape[-2:], xp=np), maps, atol=tolerance)
    with pytest.raises(ValueError, match="out"):
        spectra(maps, xp=np, out=np.empty(expected_hat.shape, np.complex64)[..., :-1])


def test_analyze_writes_into_a_buffer():
    rng = np.random.default_rng(1)
    for n_channels in (1, 2):
        filters_hat = rng.standard_normal((3, n_channels, 6, 4)) + 1j
        residual_hat = rng.standard_normal((2, n_channels, 6, 4)) + 0j
        out = np.empty((2, 3, 6, 4), complex)
        result = analyze(filters_hat, residual_hat, xp=np, out=out)
        assert result is out
        np.testing.assert_allclose(out, analyze(filters_hat, residual_hat, xp=np))


def test_transforms_of_another_backend_are_copied_into_out():
    from types import SimpleNamespace

    other = SimpleNamespace(fft=np.fft)  # any namespace that is not NumPy takes its own FFT
    maps = np.random.default_rng(2).standard_normal((2, 6, 8))
    out_hat = np.empty((2, 6, 5), complex)
    assert spectra(maps, xp=other, out=out_hat) is out_hat
    np.testing.assert_allclose(out_hat, np.fft.rfft2(maps))
    out = np.empty_like(maps)
    assert spatial(out_hat, (6, 8), xp=other, out=out) is out
    np.testing.assert_allclose(out, maps, atol=1e-12)
