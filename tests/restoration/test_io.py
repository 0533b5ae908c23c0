import os

import numpy as np
import pytest

from restoration.io import read_image, read_mask, write_image


def test_gray_png_keeps_16_bits(tmp_path):
    image = np.random.default_rng(1).random((6, 7))
    write_image(tmp_path / "gray.png", image, like=np.uint16)
    back = read_image(tmp_path / "gray.png")
    assert back.dtype == np.uint16 and np.abs(back / 65535 - image).max() <= 0.5 / 65535


@pytest.mark.parametrize("suffix,like,stored,tolerance", [
    (".png", np.uint8, np.uint8, 0.5 / 255),
    (".tif", np.uint16, np.uint16, 0.5 / 65535),
    (".png", np.uint16, np.uint16, 0.5 / 65535),  # 16-bit RGB PNG (restoration.png16)
    (".tif", np.float64, np.float32, 1e-7),
    (".jpg", np.uint16, np.uint8, 0.02),  # JPEG: 8 bits and lossy
])
def test_write_then_read_round_trip(tmp_path, suffix, like, stored, tolerance):
    rows, cols = np.mgrid[0:16, 0:16] / 15.0
    image = np.stack([rows, cols, (rows + cols) / 2], axis=-1)  # smooth: JPEG keeps it well
    path = tmp_path / f"image{suffix}"
    write_image(path, image, like=like)
    back = read_image(path)
    assert back.dtype == stored and back.shape == image.shape
    scale = np.iinfo(stored).max if stored != np.float32 else 1
    assert np.abs(back / scale - image).mean() <= tolerance
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left


def test_alpha_is_dropped_and_mask_threshold_is_half_range(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., :3] = (np.arange(5) * 60)[:, None]  # 0 60 120 180 240 in every colour channel
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "mask.png", rgba)
    assert read_image(tmp_path / "mask.png").shape == (4, 5, 3)
    observed = read_mask(tmp_path / "mask.png", (4, 5))
    np.testing.assert_array_equal(observed[0], [False, False, False, True, True])
    with pytest.raises(ValueError, match="has size"):
        read_mask(tmp_path / "mask.png", (5, 5))


def test_a_colour_mask_pixel_black_in_one_channel_is_missing(tmp_path):
    import imageio.v3 as iio

    rgb = np.full((3, 4, 3), 255, np.uint8)
    rgb[0, 0, 1] = 0  # black in the green channel only
    rgb[1, 1] = (255, 0, 0)  # red
    iio.imwrite(tmp_path / "mask.png", rgb)
    observed = read_mask(tmp_path / "mask.png", (3, 4))
    assert not observed[0, 0] and not observed[1, 1] and observed.sum() == 10


def test_a_16_bit_mask_uses_half_its_range(tmp_path):
    import imageio.v3 as iio

    mask = np.array([[0, 30000, 40000, 65535]], np.uint16)
    iio.imwrite(tmp_path / "mask.png", mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "mask.png", (1, 4))[0],
                                  [False, False, True, True])


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must end with"):
        write_image(tmp_path / "image.bmp", np.zeros((4, 4)))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_png_round_trip_keeps_uint16_and_every_value(tmp_path, channels):
    rng = np.random.default_rng(2)
    image = rng.integers(0, 65536, (9, 11, channels), dtype=np.uint16)
    image[0, 0] = 0
    image[1, 1] = 65535
    stored = write_image(tmp_path / "colour.png", image, like=np.uint16)
    back = read_image(tmp_path / "colour.png")
    assert stored.dtype == back.dtype == np.uint16
    np.testing.assert_array_equal(stored, image)
    np.testing.assert_array_equal(back, image[..., :3])  # alpha dropped on reading


@pytest.mark.parametrize("content,reason", [
    (None, "No such file"), (b"", "the file is empty"), (b"not an image", "expected a PNG"),
    ("folder", "a folder"),
])
def test_an_unreadable_image_is_named_with_what_was_expected(tmp_path, content, reason):
    path = tmp_path / "image.png"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        read_image(path)
    message = str(error.value)
    assert str(path) in message and reason in message and "backend" not in message
    assert len(message.splitlines()) == 1
