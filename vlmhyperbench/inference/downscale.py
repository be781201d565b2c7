"""Pages shrunk to a pixel budget before they are sent (a row's `max_pixels`), for servers that have no such
setting of their own (`transformers serve`)."""

from __future__ import annotations

import io


def fit_pixels(data: bytes, mime: str, max_pixels: int) -> tuple[bytes, str]:
    """The image, shrunk (aspect kept, bicubic) so that width * height <= MAX_PIXELS, as PNG; unchanged,
    and not decoded, when it already fits (only its header is read)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if width * height <= max_pixels:
            return data, mime
        scale = (max_pixels / (width * height)) ** 0.5
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        small = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        out = io.BytesIO()
        small.resize(size, Image.Resampling.BICUBIC).save(out, format="PNG")
    return out.getvalue(), "image/png"
