"""Property-based tests of the public API of ``restoration`` (hypothesis, deterministic).

Each call gets arguments drawn valid or invalid (tests/properties.py); it must return a result of
the documented shape, dtype and range, or raise a ValueError/TypeError naming the invalid
argument (and write nothing).
"""

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csc.images import as_float
from restoration import inpaint, load_dictionary, reconstruct, restore
from restoration.io import IMAGE_SUFFIXES, read_image, write_image
from restoration.metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim
from tests.properties import (
    Pool,
    bad_count,
    bad_positive,
    check_outcome,
    draw_arguments,
    property_settings,
    random_array,
    seeds,
)

#: a small dictionary keeps the calls fast (the bundled ones have 36 filters 12x12)
FILTERS = random_array(0, (3, 4, 4), "float32") - 0.5


@st.composite
def restoration_calls(draw):
    """Arguments of ``restore(image, mask, ...)``."""
    colour = draw(st.booleans())
    height, width = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    shape = (height, width) + ((3,) if colour else ())
    seed = draw(seeds)
    dtype = draw(st.sampled_from(["float32", "float64", "uint8", "uint16", "bool"]))
    image = random_array(seed, shape, dtype)
    mask = random_array(seed + 1, (height, width), "bool")
    mask[0, 0] = True
    with_nan = as_float(image).astype(np.float64)
    with_nan[~mask] = np.nan  # NaN at missing pixels is ignored
    bad_image = [np.full(shape, np.nan), image.astype(complex), np.zeros((0,) + shape[1:]),
                 np.zeros(shape, np.int16), image.astype(np.float64) + 2, "image",
                 [[0.5, 0.5], [0.5]], np.zeros(shape[:1])]
    bad_mask = [np.zeros((height, width), bool), np.full((height, width), 0.5),
                np.ones((height + 1, width), bool), np.full((height, width), np.nan), "mask"]
    pools = {
        "image": Pool(st.sampled_from([image, with_nan]), st.sampled_from(bad_image),
                      ("image", "mask", "channel_axis")),
        "mask": Pool(st.sampled_from([mask, mask.astype(np.uint8), None]),
                     st.sampled_from(bad_mask)),
        "dictionary": Pool(st.sampled_from([FILTERS, FILTERS[:, None], FILTERS.astype(np.float64)]),
                           st.sampled_from([np.zeros((0, 5, 5)), np.zeros((2, 3, 4)),
                                            np.full((2, 3, 3), np.nan), "no-such-file.npz",
                                            np.ones((2, 3, 3), int), np.ones((2, 3, 3), complex)])),
        "sparsity_weight": Pool(st.one_of(st.none(), st.floats(1e-3, 5)),
                                st.one_of(bad_positive, st.just(1e30))),
        "max_iter": Pool(st.integers(1, 3), bad_count),
        "smoothing": Pool(st.one_of(st.none(), st.floats(0.1, 1.0)),
                          st.one_of(bad_positive, st.just(1e9))),
        "keep_observed": Pool(st.sampled_from([None, True, False]), st.sampled_from([1, "yes"])),
        "channel_axis": Pool(st.just(-1 if colour else None),
                             st.sampled_from([5, 1.5, "x"] + ([None] if colour else [-1])),
                             ("channel_axis", "image")),
    }
    values, bad = draw_arguments(draw, pools)
    if values["image"] is with_nan and values["mask"] is None and "image" not in bad:
        values["image"] = image  # without a mask every pixel is observed: no NaN allowed
    return values, bad


@property_settings(max_examples=200)
@given(restoration_calls())
def test_restore_returns_an_image_in_range_or_names_the_argument(call):
    values, bad = call
    image, mask = values.pop("image"), values.pop("mask")

    def check(result):
        assert result.image.shape == np.shape(image)
        float64 = np.asarray(image).dtype == np.float64
        assert result.image.dtype == (np.float64 if float64 else np.float32)
        assert np.all(np.isfinite(result.image))
        assert result.image.min() >= 0 and result.image.max() <= 1
        assert np.isfinite(result.objective) and result.objective >= 0 and 0 <= result.nnz <= 1
        keep = values["keep_observed"] if values["keep_observed"] is not None else \
            mask is not None
        if keep and mask is not None:
            observed = mask.astype(bool) if np.ndim(image) == 2 else mask.astype(bool)[..., None]
            observed = np.broadcast_to(observed, np.shape(image))
            truth = as_float(np.asarray(image), finite=False).astype(np.float64)
            np.testing.assert_allclose(result.image[observed], truth[observed], atol=1e-6)

    check_outcome(lambda: restore(image, mask, **values), bad, check)


@property_settings(max_examples=60)
@given(st.integers(1, 12), st.integers(1, 12), seeds,
       st.sampled_from(["inpaint", "reconstruct"]))
def test_inpaint_and_reconstruct_keep_shape_and_dtype(height, width, seed, which):
    image = random_array(seed, (height, width, 3), "uint8")
    mask = random_array(seed + 1, (height, width), "bool")
    mask[-1, -1] = True
    if which == "inpaint":
        restored = inpaint(image, mask, dictionary=FILTERS, max_iter=2, channel_axis=-1)
        np.testing.assert_allclose(restored[mask], image[mask] / 255, atol=1e-6)
    else:
        restored = reconstruct(image, FILTERS, max_iter=2, channel_axis=-1)
    assert restored.shape == image.shape and restored.dtype == np.float32
    assert 0 <= restored.min() and restored.max() <= 1


@st.composite
def metric_calls(draw):
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    seed = draw(seeds)
    dtype = draw(st.sampled_from(["float64", "float32", "uint8", "bool"]))
    reference, estimate = random_array(seed, shape, dtype), random_array(seed + 1, shape, dtype)
    mask = random_array(seed + 2, shape, "bool")
    mask[0, 0] = False
    pools = {
        "reference": Pool(st.just(reference), st.sampled_from(
            [np.full(shape, np.nan), reference.astype(complex), np.zeros((0,)), "x",
             np.array([object()] * reference.size).reshape(shape), reference[:, :-1] + 0,
             np.full(shape, np.inf)]),
            ("reference", "estimate")),
        "estimate": Pool(st.just(estimate), st.sampled_from(
            [np.full(shape, np.nan), estimate.astype(complex), estimate.T.copy()[:, :-1]]),
            ("estimate", "reference")),
        "data_range": Pool(st.sampled_from([None, 1.0, 255]),
                           st.sampled_from([0, -1.0, float("nan"), float("inf"), True, "1"])),
        "mask": Pool(st.sampled_from([mask, mask.astype(np.uint8), mask.astype(np.uint8) * 255,
                                      np.full(shape, 0.5)]),  # 0.5 is not white: all missing
                     st.sampled_from([np.ones(shape, bool), np.full(shape, np.nan), mask[:-1],
                                      np.full(shape, "m")])),
    }
    values, bad = draw_arguments(draw, pools)
    values["metric"] = draw(st.sampled_from(["psnr", "ssim", "psnr_missing", "protocol_psnr",
                                             "protocol_ssim"]))
    return values, bad


@property_settings(max_examples=300)
@given(metric_calls())
def test_metrics_return_a_finite_number_or_name_the_argument(call):
    values, bad = call
    metric = values.pop("metric")
    reference, estimate = values["reference"], values["estimate"]
    if metric in ("protocol_psnr", "protocol_ssim"):
        bad -= {"data_range", "mask"}
        arguments = {}
    elif metric == "psnr_missing":
        arguments = {"mask": values["mask"], "data_range": values["data_range"]}
    else:
        bad.discard("mask")
        arguments = {"data_range": values["data_range"]}
    shape = np.shape(reference) if isinstance(reference, np.ndarray) else ()
    if metric == "ssim" and len(shape) == 2 and min(shape) < 7:
        bad.add("reference")  # SSIM's 7x7 window needs at least 7x7 pixels
    if metric in ("protocol_psnr", "protocol_ssim") and np.size(reference) < 2:
        bad.add("reference")  # min-max normalisation maps a single pixel to 0
    function = {"psnr": psnr, "ssim": ssim, "psnr_missing": psnr_missing,
                "protocol_psnr": protocol_psnr, "protocol_ssim": protocol_ssim}[metric]

    def check(value):
        assert isinstance(value, float) and not np.isnan(value)
        if metric.endswith("ssim"):
            assert -1 - 1e-9 <= value <= 1 + 1e-9
        else:
            assert value > -np.inf

    check_outcome(lambda: function(reference, estimate, **arguments), bad, check)


@st.composite
def image_writes(draw):
    shape = draw(st.sampled_from([(5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 4), (5, 6, 2)]))
    suffix = draw(st.sampled_from(IMAGE_SUFFIXES + (".PNG", ".JPG")))
    seed = draw(seeds)
    image = random_array(seed, shape, draw(st.sampled_from(["float64", "float32", "uint8",
                                                            "uint16", "bool"])))
    jpeg = suffix.lower() in (".jpg", ".jpeg")
    alpha = shape[-1] in (2, 4) and len(shape) == 3
    bad_image = [np.zeros(5), np.zeros(()), np.full((5, 6), np.nan), np.full((5, 6), 1.5),
                 np.zeros((5, 6), complex), np.zeros((5, 6, 5)), np.zeros((0, 6)), "image",
                 -np.ones((5, 6))]
    pools = {
        "image": Pool(st.just(image), st.sampled_from(bad_image)),
        "like": Pool(st.sampled_from([np.uint8, np.uint16, np.float32, "float64"]),
                     st.sampled_from(["pixels", 3.5])),
        "quality": Pool(st.integers(1, 100), st.sampled_from([0, 101, 9.5, True])),
    }
    values, bad = draw_arguments(draw, pools)
    if values["image"] is image and jpeg and alpha:
        bad.add("image")  # JPEG has no alpha channel
    return values, bad, suffix


@property_settings(max_examples=150)
@given(image_writes())
def test_write_image_round_trips_or_names_the_argument_and_writes_nothing(tmp_path_factory,
                                                                         drawn):
    values, bad, suffix = drawn
    folder = tmp_path_factory.mktemp("write")
    path = folder / f"image{suffix}"
    image = values["image"]

    def check(stored):
        back = read_image(path)
        assert back.shape[:2] == image.shape[:2]
        assert stored.shape[:2] == image.shape[:2]
        assert back.dtype in (np.uint8, np.uint16, np.float32) and back.dtype == stored.dtype
        oct(os.stat(path).st_mode)  # written

    check_outcome(lambda: write_image(path, image, like=values["like"],
                                      quality=values["quality"]), bad, check)
    if bad:
        assert os.listdir(folder) == []


@property_settings(max_examples=60)
@given(st.sampled_from([None, FILTERS, FILTERS[:, None], list(FILTERS), np.zeros((0, 4, 4)),
                        np.zeros((3, 4)), np.full((2, 3, 3), np.inf), "missing.npz", 5,
                        np.zeros((2, 2, 3, 3)), np.zeros((2, 3, 3), np.uint8)]))
def test_load_dictionary_returns_gray_float32_filters_or_names_dictionary(dictionary):
    valid = dictionary is None or (isinstance(dictionary, list | np.ndarray)
                                   and np.shape(dictionary) in ((3, 4, 4), (3, 1, 4, 4)))

    def check(filters):
        assert filters.dtype == np.float32 and filters.ndim == 3
        assert filters.shape[1] == filters.shape[2] and len(filters) >= 1

    check_outcome(lambda: load_dictionary(dictionary), set() if valid else {"dictionary"}, check)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_write_image_refuses_a_folder_path(tmp_path, suffix):
    folder = tmp_path / f"out{suffix}"
    folder.mkdir()
    with pytest.raises(IsADirectoryError):  # the CLI refuses it earlier, with one line
        write_image(folder, np.zeros((4, 4)))
    assert os.listdir(folder) == []
