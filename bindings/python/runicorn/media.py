"""log_image: stores an image under <run_dir>/media and indexes it in media/images.jsonl.

The journal has no image record, so the index is a JSON-lines file beside the images (one object
per call: key, path relative to the run dir, step, caption, time), written with one append so
concurrent loggers never interleave within a line. Arrays are encoded as PNG here with zlib;
neither PIL nor numpy is needed.
"""
from __future__ import annotations

import json
import os
import re
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Optional, Tuple

_index_lock = threading.Lock()
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(pixels: bytes, width: int, height: int, channels: int) -> bytes:
    """8-bit PNG from row-major pixels (channels 1 = grey, 2 = grey+alpha, 3 = RGB, 4 = RGBA)."""
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stride = width * channels
    if len(pixels) != stride * height:
        raise ValueError("runicorn: pixel buffer does not match the image size")
    raw = b"".join(b"\x00" + pixels[row * stride:(row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) +
            _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b""))


def _array_to_png(image: Any) -> bytes:
    if hasattr(image, "detach"):  # torch tensor
        image = image.detach().cpu().numpy()
    shape = tuple(image.shape)
    if len(shape) == 2:
        shape = (shape[0], shape[1], 1)
    if len(shape) != 3 or shape[2] not in (1, 2, 3, 4) or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"runicorn: image array must be HxW or HxWxC with C in 1..4, got shape "
                         f"{tuple(image.shape)}")
    kind = getattr(getattr(image, "dtype", None), "kind", "u")
    if kind == "f":  # floats in [0, 1], as matplotlib and torchvision use them
        image = (image.clip(0, 1) * 255 + 0.5).astype("uint8")
    elif kind == "b":
        image = image.astype("uint8") * 255
    elif str(image.dtype) != "uint8":
        raise TypeError(f"runicorn: image array must be uint8 (or float in [0, 1]), "
                        f"got {image.dtype}")
    pixels = image.tobytes(order="C") if hasattr(image, "tobytes") else bytes(image)
    return encode_png(pixels, shape[1], shape[0], shape[2])


def _sniff_extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return ".webp"
    return ".png"


def _encode(image: Any) -> Tuple[bytes, str]:
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        return data, _sniff_extension(data)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"runicorn: image file not found: {path}")
        return path.read_bytes(), (path.suffix.lower() or ".png")
    if hasattr(image, "save") and hasattr(image, "mode"):  # PIL image
        import io
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue(), ".png"
    if hasattr(image, "shape") and hasattr(image, "dtype"):
        return _array_to_png(image), ".png"
    raise TypeError(f"runicorn: log_image() cannot store a {type(image).__name__}; pass bytes, "
                    f"a path, a PIL image or an HxWxC uint8 array")


def save_image(run: Any, key: str, image: Any, step: Optional[int] = None,
               caption: Optional[str] = None) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError("runicorn: log_image() key must be a non-empty str")
    if run.is_finished:
        import warnings
        warnings.warn("runicorn: run already finished, log_image() ignored", RuntimeWarning,
                      stacklevel=3)
        return ""
    data, extension = _encode(image)
    media = run.run_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    safe_key = _KEY_CHARS.sub("_", key)[:64]
    label = f"s{int(step)}" if step is not None else str(int(time.time() * 1000))
    file_name = f"{safe_key}_{label}_{uuid.uuid4().hex[:6]}{extension}"
    (media / file_name).write_bytes(data)
    relative = f"media/{file_name}"
    entry = {"key": key, "path": relative, "step": None if step is None else int(step),
             "caption": caption, "time": time.time()}
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    with _index_lock:
        fd = os.open(media / "images.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    return relative
