"""Thumbnails of a run's PNG screenshots. Pure: the bytes of a PNG in, a smaller PNG out.

Standard library only: the PNG is decoded (zlib and the five row filters of the PNG
specification), scaled down by a whole factor with a box filter (each thumbnail pixel is
the rounded mean of a factor × factor block; the last rows and columns that do not fill a
block are left out), and written again as a PNG with no row filter.

It reads what Chromium's screenshots are: 8 bits per channel, grey, grey and alpha, RGB or
RGBA, not interlaced. Anything else (a palette, 16 bits, interlacing, a damaged file) raises
`ThumbnailError`; the dashboard then serves the original image instead. Channels are averaged
as they are stored (alpha is not premultiplied), which is exact for opaque screenshots.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from itertools import accumulate
from operator import add

SIGNATURE = b"\x89PNG\r\n\x1a\n"
THUMB_WIDTH = 320
"""The widest a thumbnail is, in pixels."""
MAX_PIXELS = 16_000_000
"""The largest image decoded (1280 × 12,500): decoding holds about 8 bytes per pixel."""
MAX_SIDE = 32_768
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
"""PNG colour type → channels, for the types read here."""


class ThumbnailError(ValueError):
    """The file is not a PNG this module reads; the message says what it is instead."""


@dataclass(frozen=True, slots=True)
class Image:
    width: int
    height: int
    color_type: int
    rows: tuple[bytes, ...]
    """Unfiltered rows, `width * channels` bytes each."""

    @property
    def channels(self) -> int:
        return CHANNELS[self.color_type]


def thumbnail(data: bytes, max_width: int = THUMB_WIDTH) -> bytes:
    """A PNG at most `max_width` pixels wide; the original bytes when it is no wider."""
    image = decode(data)
    if image.width <= max_width:
        return data
    return encode(downscale(image, math.ceil(image.width / max_width)))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise ThumbnailError("not a PNG file (no PNG signature)")
    chunks, pos = [], len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ThumbnailError("the PNG is cut short inside a chunk header")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ThumbnailError(f"the PNG is cut short inside its {kind!r} chunk")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise ThumbnailError(f"the PNG's {kind!r} chunk fails its checksum")
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def decode(data: bytes) -> Image:
    """The unfiltered rows of an 8-bit, non-interlaced grey/RGB(A) PNG."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise ThumbnailError("the PNG does not start with its header (IHDR)")
    width, height, depth, color, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise ThumbnailError(f"a {width}×{height} PNG is too large to make a thumbnail of")
    if depth != 8 or color not in CHANNELS:
        raise ThumbnailError(f"PNG colour type {color} at {depth} bits is not read here")
    if compression or filtering or interlace:
        raise ThumbnailError("an interlaced PNG (or an unknown method) is not read here")
    bpp = CHANNELS[color]
    stride = width * bpp
    expected = height * (stride + 1)
    inflater = zlib.decompressobj()
    parts: list[bytes] = []
    size = 0
    try:
        for kind, body in chunks:
            if kind == b"IDAT":
                # never more than one byte past the expected size: a small file cannot
                # inflate into a large one here
                parts.append(inflater.decompress(body, expected + 1 - size))
                size += len(parts[-1])
                if size > expected:
                    break
    except zlib.error as e:
        raise ThumbnailError(f"the PNG's image data does not inflate: {e}") from None
    raw = b"".join(parts)
    if len(raw) != expected:
        raise ThumbnailError(f"the PNG holds {len(raw)} bytes of rows, not {expected}")
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        prior = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prior, bpp)
        rows.append(prior)
    return Image(width, height, color, tuple(rows))


def _mod256(values: object) -> bytes:
    return bytes(map((256).__rmod__, values))  # type: ignore[call-overload]


def _unfilter(kind: int, line: bytes, prior: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 1:  # Sub: each byte plus the one bpp to its left
        out = bytearray(len(line))
        for c in range(bpp):
            out[c::bpp] = _mod256(accumulate(line[c::bpp]))
        return bytes(out)
    if kind == 2:  # Up: each byte plus the one above
        return _mod256(map(add, line, prior))
    if kind == 3:  # Average of the left and the above
        out = bytearray(line)
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prior[i]) >> 1)) & 255
        return bytes(out)
    if (
        kind == 4
    ):  # Paeth: whichever of left, above, upper-left is nearest left + above − upper-left
        out = bytearray(line)
        for i in range(len(out)):
            if i >= bpp:
                a, b, c = out[i - bpp], prior[i], prior[i - bpp]
            else:
                a, b, c = 0, prior[i], 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            nearest = a if pa <= pb and pa <= pc else b if pb <= pc else c
            out[i] = (out[i] + nearest) & 255
        return bytes(out)
    raise ThumbnailError(f"the PNG has a row with filter type {kind}, which does not exist")


def downscale(image: Image, factor: int) -> Image:
    """Every `factor` × `factor` block of pixels as one, each channel the block's rounded mean."""
    if factor <= 1:
        return image
    ch = image.channels
    width, height = image.width // factor, image.height // factor
    area, half = factor * factor, factor * factor // 2
    rows = []
    for by in range(height):
        sums: list[list[int]] = [[0] * width for _ in range(ch)]
        for row in image.rows[by * factor : (by + 1) * factor]:
            for c in range(ch):
                channel = row[c::ch]
                # the sum of each run of `factor` samples of this channel, side by side
                across = map(sum, zip(*(channel[j::factor] for j in range(factor)), strict=False))
                sums[c] = list(map(add, sums[c], across))
        out = bytearray(width * ch)
        for c in range(ch):
            out[c::ch] = bytes(map(area.__rfloordiv__, map(half.__add__, sums[c])))
        rows.append(bytes(out))
    return Image(width, height, image.color_type, tuple(rows))


def encode(image: Image) -> bytes:
    """The image as a PNG: rows with filter 0, deflated."""
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, image.color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in image.rows)
    return SIGNATURE + b"".join(
        _chunk(kind, body)
        for kind, body in ((b"IHDR", header), (b"IDAT", zlib.compress(raw, 9)), (b"IEND", b""))
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
