"""Thumbnails of screenshots: PNGs decoded with every row filter, scaled with a box filter,
written again; the route over real HTTP; and a real Chromium screenshot made small."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import pytest

from cc_ci.dashboard.tests.conftest import fetch
from cc_ci.dashboard.tests.worlds import World, png, record, stage, write_run
from cc_ci.dashboard.thumbnail import (
    THUMB_WIDTH,
    Image,
    ThumbnailError,
    decode,
    downscale,
    encode,
    thumbnail,
)
from devworld.needs import needs


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    """The PNG specification's filters, written out plainly: the reference for the decoder."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - predictor) % 256)
    return bytes(out)


def make_png(image: Image, kinds: list[int], **header) -> bytes:
    h = {"depth": 8, "color": image.color_type, "interlace": 0} | header
    ihdr = struct.pack(
        ">IIBBBBB", image.width, image.height, h["depth"], h["color"], 0, 0, h["interlace"]
    )
    raw, prior = b"", bytes(len(image.rows[0]))
    for y, row in enumerate(image.rows):
        kind = kinds[y % len(kinds)]
        raw += bytes([kind]) + filtered(kind, row, prior, image.channels)
        prior = row
    data = zlib.compress(raw)
    idats = [data[i : i + 1000] for i in range(0, len(data), 1000)]  # several IDAT chunks
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + b"".join(chunk(b"IDAT", d) for d in idats)
        + chunk(b"IEND", b"")
    )


def noise(width: int, height: int, color_type: int, seed: int = 7) -> Image:
    rng = random.Random(seed)
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    rows = tuple(rng.randbytes(width * ch) for _ in range(height))
    return Image(width, height, color_type, rows)


@pytest.mark.parametrize("color_type", [0, 2, 4, 6])
def test_every_row_filter_of_every_colour_type_read_decodes_to_the_pixels(color_type):
    image = noise(37, 11, color_type)
    assert decode(make_png(image, [0, 1, 2, 3, 4])) == image
    assert decode(make_png(image, [4])) == image
    assert decode(encode(image)) == image


def test_a_box_filter_gives_each_block_its_rounded_mean_and_drops_the_leftovers():
    # 5 × 3 RGB, factor 2: two blocks across, one down; the fifth column and third row are left
    rows = (
        bytes([0, 0, 0, 10, 20, 30, 100, 0, 0, 200, 0, 1, 9, 9, 9]),
        bytes([1, 0, 0, 10, 20, 31, 100, 0, 0, 201, 0, 0, 9, 9, 9]),
        bytes([255] * 15),
    )
    small = downscale(Image(5, 3, 2, rows), 2)
    assert (small.width, small.height) == (2, 1)
    # (0+10+1+10)/4 = 5.25 → 5; (0+20+0+20)/4 = 10; (0+30+0+31)/4 = 15.25 → 15;
    # (100+200+100+201)/4 = 150.25 → 150; 0; (0+1+0+0)/4 = 0.25 → 0
    assert small.rows == (bytes([5, 10, 15, 150, 0, 0]),)
    halves = downscale(Image(2, 2, 0, (bytes([0, 1]), bytes([1, 0]))), 2)
    assert halves.rows == (bytes([1]),)  # 0.5 rounds up


def test_a_wide_screenshot_becomes_at_most_320_pixels_wide_and_a_small_one_stays_as_it_is():
    wide = png(1280, 800, (40, 120, 200))
    small = decode(thumbnail(wide))
    assert (small.width, small.height) == (THUMB_WIDTH, 200)
    assert set(small.rows) == {bytes((40, 120, 200)) * THUMB_WIDTH}
    odd = decode(thumbnail(png(1366, 768)))
    assert odd.width <= THUMB_WIDTH and odd.width == 1366 // 5
    tiny = png(160, 100)
    assert thumbnail(tiny) == tiny


def header_png(width=10, height=10, depth=8, color=2, interlace=0, idat=None) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    body = idat if idat is not None else zlib.compress(b"\x00" * (height * (width * 3 + 1)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"GIF89a", "no PNG signature"),
        (header_png(color=3), "colour type 3 at 8 bits"),
        (header_png(depth=16), "colour type 2 at 16 bits"),
        (header_png(interlace=1), "interlaced"),
        (header_png(width=40_000), "too large"),
        (header_png(width=5000, height=5000), "too large"),
        (header_png(idat=b"not zlib"), "does not inflate"),
        (header_png(idat=zlib.compress(b"\x00" * 10)), "bytes of rows, not 310"),
        # a bomb: a few kilobytes that would inflate to a gigabyte are read one byte too far
        (header_png(idat=zlib.compress(b"\x00" * 50_000_000)), "bytes of rows, not 310"),
        (header_png(idat=zlib.compress(b"\x07" * 310)), "filter type 7"),
        (header_png()[:40], "cut short"),
        (header_png()[:-5] + b"\x00\x00\x00\x01\x00", "checksum"),
    ],
)
def test_what_is_not_read_says_what_it_is_instead(data, says):
    with pytest.raises(ThumbnailError, match=says):
        thumbnail(data)


# --- over HTTP --------------------------------------------------------------------------


@pytest.fixture
def thumbs_world(world: World) -> World:
    palette = header_png(color=3)
    write_run(
        world.results,
        record(
            "drone-777",
            "custom-html",
            stages=[
                stage(
                    "install",
                    artifacts=["screenshots/install-wide.png", "screenshots/install-palette.png"],
                )
            ],
        ),
        files={
            "screenshots/install-wide.png": png(1280, 800, (200, 10, 10)),
            "screenshots/install-palette.png": palette,
            "screenshots/notes.txt": b"text",
            "thumb/screenshots/install-wide.png": b"never served: thumb/ is the route",
        },
    )
    return world


def test_the_thumbnail_route_serves_a_small_png_that_caches_like_an_artifact(thumbs_world, serve):
    base = serve(thumbs_world.results)
    r = fetch(base, "/runs/drone-777/thumb/screenshots/install-wide.png")
    assert r.status == 200 and r.headers["Content-Type"] == "image/png"
    assert decode(r.body).width == THUMB_WIDTH
    assert "sandbox" in r.headers["Content-Security-Policy"]
    again = fetch(
        base,
        "/runs/drone-777/thumb/screenshots/install-wide.png",
        headers={"If-None-Match": r.headers["ETag"]},
    )
    assert again.status == 304
    full = fetch(base, "/runs/drone-777/screenshots/install-wide.png")
    assert decode(full.body).width == 1280


def test_a_png_that_is_not_decoded_is_served_as_it_is(thumbs_world, serve):
    base = serve(thumbs_world.results)
    r = fetch(base, "/runs/drone-777/thumb/screenshots/install-palette.png")
    assert r.status == 200 and r.body == header_png(color=3)


@pytest.mark.parametrize(
    "target",
    [
        "/runs/drone-777/thumb/screenshots/notes.txt",
        "/runs/drone-777/thumb/screenshots/missing.png",
        "/runs/drone-777/thumb/../drone-103/screenshots/install-front.png",
        "/runs/drone-777/thumb/%2e%2e/run.json",
        "/runs/drone-777/thumb/",
        "/runs/nope/thumb/screenshots/install-wide.png",
    ],
)
def test_only_a_png_inside_its_run_folder_has_a_thumbnail(thumbs_world, serve, target):
    assert fetch(serve(thumbs_world.results), target).status == 404


# --- a real screenshot ------------------------------------------------------------------

PAGE = """<!doctype html><style>body{margin:0} div{position:absolute;width:640px;height:400px}</style>
<div style="left:0;top:0;background:#ff0000"></div><div style="left:640px;top:0;background:#00ff00"></div>
<div style="left:0;top:400px;background:#0000ff"></div><div style="left:640px;top:400px;background:#ffffff"></div>"""


def test_a_chromium_screenshot_is_made_small_with_its_colours_where_they_were(tmp_path: Path):
    needs("playwright")
    needs("chromium")
    from cc_ci.suite.browser import launch_chromium

    shot = tmp_path / "shot.png"
    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_content(PAGE)
        page.screenshot(path=str(shot))
    small = decode(thumbnail(shot.read_bytes()))
    assert (small.width, small.height) == (320, 200)
    ch = small.channels
    at = {(x, y): small.rows[y][x * ch : x * ch + 3] for x in (80, 240) for y in (50, 150)}
    assert at == {
        (80, 50): b"\xff\x00\x00",
        (240, 50): b"\x00\xff\x00",
        (80, 150): b"\x00\x00\xff",
        (240, 150): b"\xff\xff\xff",
    }
