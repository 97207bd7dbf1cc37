"""log_image: bytes, paths, PIL-like objects and arrays end up as files under <run_dir>/media."""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

import runicorn as rn
from runicorn.media import encode_png


def decode_png(data: bytes):
    """Minimal decoder for the filter-0 PNGs runicorn writes: (width, height, channels, pixels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, *_ = header
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = [raw[r * (stride + 1):(r + 1) * (stride + 1)] for r in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, channels, b"".join(row[1:] for row in rows)


def index(run):
    lines = (run.run_dir / "media" / "images.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_rgb_array_is_encoded_as_png(store):
    run = rn.init(storage=store)
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    rel = run.log_image("sample", image, step=7, caption="first")
    assert rel.startswith("media/") and rel.endswith(".png")
    width, height, channels, pixels = decode_png((run.run_dir / rel).read_bytes())
    assert (width, height, channels) == (5, 4, 3) and pixels == image.tobytes()
    assert index(run) == [{"key": "sample", "path": rel, "step": 7, "caption": "first",
                           "time": index(run)[0]["time"]}]


@pytest.mark.parametrize("shape", [(3, 2), (3, 2, 1), (3, 2, 2), (3, 2, 4)])
def test_grey_and_alpha_arrays(store, shape):
    run = rn.init(storage=store)
    image = (np.arange(np.prod(shape)) % 256).astype(np.uint8).reshape(shape)
    rel = run.log_image("g", image)
    width, height, channels, pixels = decode_png((run.run_dir / rel).read_bytes())
    assert (height, width) == shape[:2] and channels == (shape[2] if len(shape) == 3 else 1)
    assert pixels == image.tobytes()


def test_float_arrays_are_scaled_from_unit_range(store):
    run = rn.init(storage=store)
    rel = run.log_image("f", np.array([[0.0, 1.0], [0.5, 2.0]]))
    assert decode_png((run.run_dir / rel).read_bytes())[3] == bytes([0, 255, 128, 255])


def test_bytes_and_paths_are_stored_verbatim(store, tmp_path):
    run = rn.init(storage=store)
    png = encode_png(b"\x01\x02\x03", 1, 1, 3)
    rel = run.log_image("raw", png)
    assert (run.run_dir / rel).read_bytes() == png
    jpeg = tmp_path / "photo.JPG"
    jpeg.write_bytes(b"\xff\xd8fake-jpeg")
    rel2 = rn.log_image("file", jpeg)
    assert rel2.endswith(".jpg") and (run.run_dir / rel2).read_bytes() == b"\xff\xd8fake-jpeg"
    assert [e["key"] for e in index(run)] == ["raw", "file"]


def test_pil_like_objects_are_saved_as_png(store):
    class FakePil:
        mode = "RGB"

        def save(self, fp, format=None):
            assert format == "PNG"
            fp.write(encode_png(b"\x00\x00\x00", 1, 1, 3))

    run = rn.init(storage=store)
    rel = run.log_image("pil", FakePil())
    assert decode_png((run.run_dir / rel).read_bytes())[:3] == (1, 1, 3)


def test_errors(store, tmp_path):
    run = rn.init(storage=store)
    with pytest.raises(FileNotFoundError):
        run.log_image("x", tmp_path / "missing.png")
    with pytest.raises(TypeError, match="cannot store"):
        run.log_image("x", 12)
    with pytest.raises(ValueError, match="shape"):
        run.log_image("x", np.zeros((2, 2, 5), dtype=np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        run.log_image("x", np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="key"):
        run.log_image("", b"\x89PNG")
    run.finish()
    with pytest.warns(RuntimeWarning):
        assert run.log_image("late", b"\x89PNG") == ""
