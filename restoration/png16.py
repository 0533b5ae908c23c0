"""16-bit PNG with colour or alpha (RGB, RGBA, gray + alpha).

imageio's PNG plugin (Pillow) cannot write these and reads them as 8 bits, so they are encoded
and decoded here with zlib and NumPy (PNG specification, ISO/IEC 15948): written with the "Up"
filter on every scanline, read with any of the five filters and Adam7 interlacing, the filters
undone by one Numba loop (each byte depends on its left and upper neighbours).
"""

import struct
import zlib

import numba
import numpy as np

__all__ = ["is_png16", "encode_png16", "decode_png16"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 4: 2, 6: 4}  # colour type -> channels: RGB, gray + alpha, RGBA
_COLOUR_TYPES = {channels: kind for kind, channels in _CHANNELS.items()}
# Adam7 passes: first row, first column, row step, column step
_ADAM7 = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
          (1, 0, 2, 1))


def is_png16(header):
    """Whether ``header`` (the first 26 bytes of a file, or more) opens a 16-bit PNG with colour
    or alpha (colour types 2, 4 and 6)."""
    return (len(header) >= 26 and header[:8] == SIGNATURE and header[12:16] == b"IHDR"
            and header[24] == 16 and header[25] in _CHANNELS)


def encode_png16(image):
    """Encode a 16-bit image with colour or alpha as PNG.

    Parameters
    ----------
    image : ndarray of uint16 of shape (H, W, 2), (H, W, 3) or (H, W, 4)
        Gray + alpha, RGB or RGBA (the caller checks the shape and dtype).

    Returns
    -------
    bytes
    """
    height, width, channels = image.shape
    rows = np.ascontiguousarray(image, dtype=">u2").view(np.uint8).reshape(height, -1)
    up = np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]), np.uint8))  # modulo 256
    scanlines = np.hstack([np.full((height, 1), 2, np.uint8), up])  # filter type 2: Up
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOUR_TYPES[channels], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(scanlines.tobytes())) + _chunk(b"IEND", b""))


def decode_png16(data):
    """Decode a 16-bit PNG with colour or alpha (:func:`is_png16`).

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    ndarray of uint16 of shape (H, W, C)
        C = 3 (RGB), 2 (gray + alpha) or 4 (RGBA).

    Raises
    ------
    ValueError
        Not such a PNG, or a damaged one (truncated, bad compressed data or filter type).
    """
    if not is_png16(data[:26]):
        raise ValueError("not a 16-bit PNG with colour or alpha")
    position, parts = 8, []
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            parts.append(data[position + 8:position + 8 + length])
        position += 12 + length
    width, height, _, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = _CHANNELS[colour]
    try:
        raw = np.frombuffer(zlib.decompress(b"".join(parts)), np.uint8)
    except zlib.error as error:
        raise ValueError(f"damaged PNG data ({error})") from None
    image = np.empty((height, width, channels), np.uint16)
    offset = 0
    for row, column, row_step, column_step in _ADAM7 if interlace else ((0, 0, 1, 1),):
        rows, columns = len(range(row, height, row_step)), len(range(column, width, column_step))
        if rows == 0 or columns == 0:  # an empty pass stores nothing
            continue
        size = rows * (1 + 2 * channels * columns)
        if raw.size < offset + size:
            raise ValueError("truncated PNG data")
        scanlines = raw[offset:offset + size].reshape(rows, -1)
        offset += size
        if scanlines[:, 0].max() > 4:
            raise ValueError(f"PNG filter type {scanlines[:, 0].max()} (0 to 4 exist)")
        bytes_ = np.empty((rows, scanlines.shape[1] - 1), np.uint8)
        _unfilter(scanlines, 2 * channels, bytes_)
        image[row::row_step, column::column_step] = \
            bytes_.view(">u2").reshape(rows, columns, channels)
    return image


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@numba.njit(cache=True)
def _unfilter(scanlines, pixel_bytes, out):
    """Undo the filters of ``scanlines`` (each a filter type byte, then the filtered bytes) into
    ``out``; ``pixel_bytes``: the distance of the left neighbour."""
    rows, width = out.shape
    for r in range(rows):
        kind = scanlines[r, 0]
        for i in range(width):
            left = np.int32(out[r, i - pixel_bytes]) if i >= pixel_bytes else np.int32(0)
            up = np.int32(out[r - 1, i]) if r > 0 else np.int32(0)
            corner = np.int32(out[r - 1, i - pixel_bytes]) if r > 0 and i >= pixel_bytes \
                else np.int32(0)
            if kind == 1:
                predicted = left
            elif kind == 2:
                predicted = up
            elif kind == 3:
                predicted = (left + up) // 2
            elif kind == 4:  # Paeth: the neighbour nearest to left + up - corner
                estimate = left + up - corner
                to_left, to_up = abs(estimate - left), abs(estimate - up)
                to_corner = abs(estimate - corner)
                if to_left <= to_up and to_left <= to_corner:
                    predicted = left
                elif to_up <= to_corner:
                    predicted = up
                else:
                    predicted = corner
            else:
                predicted = np.int32(0)
            out[r, i] = (np.int32(scanlines[r, i + 1]) + predicted) & 255
