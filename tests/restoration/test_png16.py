"""16-bit PNG with colour or alpha (restoration/png16.py), against libpng (through OpenCV) and
against images built by hand."""

import struct
import zlib

import numpy as np
import pytest

from restoration.png16 import decode_png16, encode_png16, is_png16


def smooth_image(shape, seed):
    """Slowly varying 16-bit values (every PNG filter predicts them differently)."""
    steps = np.random.default_rng(seed).integers(0, 700, shape)
    return np.cumsum(np.cumsum(steps, axis=0), axis=1).astype(np.uint16)


def filtered(lines, kind, pixel_bytes):
    """PNG filter ``kind`` (0-4) applied to ``lines`` of bytes, byte by byte as the
    specification writes it (ISO/IEC 15948, 9.2)."""
    out = np.zeros_like(lines)
    for r, line in enumerate(lines.astype(int)):
        for i, value in enumerate(line):
            left = int(line[i - pixel_bytes]) if i >= pixel_bytes else 0
            up = int(lines[r - 1, i]) if r else 0
            corner = int(lines[r - 1, i - pixel_bytes]) if r and i >= pixel_bytes else 0
            estimate = left + up - corner
            paeth = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                        (abs(estimate - corner), 2, corner))[2]
            predicted = (0, left, up, (left + up) // 2, paeth)[kind]
            out[r, i] = (value - predicted) % 256
    return out


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(image, passes):
    """A 16-bit RGB PNG of ``image`` from ``passes`` of (subimage, filter types per line)."""
    raw = b""
    for part, kinds in passes:
        lines = part.astype(">u2").view(np.uint8).reshape(part.shape[0], -1)
        for r, kind in enumerate(kinds):
            row = filtered(lines, kind, 6)[r]
            raw += bytes([kind]) + row.tobytes()
    interlace = int(len(passes) > 1)
    header = struct.pack(">IIBBBBB", image.shape[1], image.shape[0], 16, 2, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_decodes_every_filter_of_the_specification():
    image = smooth_image((10, 7, 3), 4)
    kinds = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]  # each filter after each other one
    np.testing.assert_array_equal(decode_png16(png(image, [(image, kinds)])), image)


@pytest.mark.parametrize("name", ["NONE", "SUB", "UP", "AVG", "PAETH"])
def test_decodes_every_filter_as_libpng_writes_it(name):
    cv2 = pytest.importorskip("cv2")
    image = smooth_image((23, 17, 3), 0)
    flag = getattr(cv2, f"IMWRITE_PNG_FILTER_{name}")
    ok, encoded = cv2.imencode(".png", image[..., ::-1], [cv2.IMWRITE_PNG_FILTER, flag])
    assert ok and is_png16(encoded.tobytes())
    np.testing.assert_array_equal(decode_png16(encoded.tobytes()), image)


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_libpng_reads_what_is_encoded(channels):
    cv2 = pytest.importorskip("cv2")
    image = smooth_image((19, 21, channels), 1)
    data = encode_png16(image)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    order = {2: [0, 0, 0, 1], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]  # OpenCV: BGR(A)
    expected = image[..., order]
    np.testing.assert_array_equal(decoded, expected)
    np.testing.assert_array_equal(decode_png16(data), image)


def test_decodes_adam7_interlacing():
    image = smooth_image((13, 10, 3), 2)  # passes of every size, some empty along one axis
    starts = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2),
              (0, 1, 2, 2), (1, 0, 2, 1))
    parts = [image[row::row_step, column::column_step]
             for row, column, row_step, column_step in starts]
    passes = [(part, [(r + 4) % 5 for r in range(len(part))]) for part in parts if part.size]
    np.testing.assert_array_equal(decode_png16(png(image, passes)), image)


def test_damaged_files_are_value_errors():
    data = encode_png16(smooth_image((8, 8, 3), 3))
    with pytest.raises(ValueError, match="damaged"):
        decode_png16(data[:60])
    with pytest.raises(ValueError, match="not a 16-bit PNG"):
        decode_png16(b"GIF89a" + data[6:])
    assert not is_png16(data[:20])
