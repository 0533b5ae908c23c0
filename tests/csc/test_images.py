import numpy as np
import pytest

from csc.images import as_float, image_layout, mask_weights


@pytest.mark.parametrize("dtype,expected", [
    (np.uint8, np.float32), (np.uint16, np.float32), (np.int16, np.float32),
    (np.bool_, np.float32), (np.float16, np.float32), (np.float32, np.float32),
    (np.float64, np.float64),
])
def test_float_policy_keeps_float32_and_float64_and_scales_integers(dtype, expected):
    values = np.array([[0, 1], [1, 0]]).astype(dtype)
    assert as_float(values).dtype == expected
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(dtype)
        extremes = as_float(np.array([[info.min, info.max]], dtype))
        np.testing.assert_allclose(extremes, [[-1.0 if info.min < 0 else 0.0, 1.0]])


def test_float_input_is_not_copied_and_bad_values_are_refused():
    image = np.zeros((4, 4), np.float32)
    assert as_float(image) is image
    with pytest.raises(ValueError, match="`image` contains NaN"):
        as_float(np.full((2, 2), np.inf), name="image")
    with pytest.raises(ValueError, match="dtype"):
        as_float(np.zeros((2, 2), complex))


@pytest.mark.parametrize("shape,channel_axis,internal", [
    ((5, 6), None, (1, 1, 5, 6)),
    ((3, 5, 6), None, (3, 1, 5, 6)),
    ((5, 6, 3), -1, (1, 3, 5, 6)),
    ((3, 5, 6), 0, (1, 3, 5, 6)),
    ((2, 5, 6, 3), -1, (2, 3, 5, 6)),
    ((2, 3, 5, 6), 0, (2, 3, 5, 6)),
])
def test_layout_round_trips_through_the_internal_layout(shape, channel_axis, internal):
    images = np.random.default_rng(0).random(shape)
    layout = image_layout(images, channel_axis)
    inside = layout.to_internal(images, xp=np)
    assert inside.shape == internal == layout.internal_shape
    np.testing.assert_array_equal(layout.from_internal(inside, xp=np), images)
    if channel_axis is not None:  # channel 1 inside is index 1 along the named axis
        axis = channel_axis % 3 + (1 if layout.batched else 0)
        np.testing.assert_array_equal(inside[:, 1].reshape(-1),
                                      np.take(images, 1, axis=axis).reshape(-1))


@pytest.mark.parametrize("shape,channel_axis,batch,match", [
    ((5, 6, 3), None, False, "channel_axis"),
    ((5,), None, True, "images"),
    ((5, 6), -1, True, "images"),
    ((5, 6, 3), 4, True, "channel_axis"),
    ((0, 6), None, True, "empty"),
])
def test_bad_layouts_name_the_argument(shape, channel_axis, batch, match):
    with pytest.raises(ValueError, match=match):
        image_layout(np.zeros(shape), channel_axis, batch=batch)


def test_mask_in_spatial_shape_is_shared_by_the_channels():
    layout = image_layout(np.zeros((4, 5, 3)), -1, batch=False)
    mask = np.random.default_rng(1).random((4, 5)) > 0.5
    mask[0, 0] = True
    weights = mask_weights(mask, layout, dtype=np.float32)
    assert weights.shape == (1, 3, 4, 5) and weights.dtype == np.float32
    for channel in range(3):
        np.testing.assert_array_equal(weights[0, channel], mask)


@pytest.mark.parametrize("mask,options,match", [
    (np.ones((4, 6)), {}, "must have shape"),
    (np.full((4, 5), 0.5), {"binary": True}, "0 and 1"),
    (np.full((4, 5), -1.0), {}, "non-negative"),
    (np.zeros((4, 5)), {}, "no observed pixel"),
])
def test_bad_masks_name_the_argument(mask, options, match):
    layout = image_layout(np.zeros((4, 5)), None)
    with pytest.raises(ValueError, match=match):
        mask_weights(mask, layout, dtype=np.float64, **options)


def test_each_channel_needs_an_observed_pixel_only_when_asked():
    layout = image_layout(np.zeros((4, 5, 2)), -1)
    mask = np.zeros((4, 5, 2), bool)
    mask[..., 0] = True
    assert mask_weights(mask, layout, dtype=np.float32).shape == (1, 2, 4, 5)
    with pytest.raises(ValueError, match="in some channel"):
        mask_weights(mask, layout, dtype=np.float32, each_channel=True)
