"""Decoding request images with Pillow, which every engine's env has (the engines depend on it)."""

from __future__ import annotations

import io
from typing import Any

from .protocol import bad_request


def decode_images(payloads: list[bytes]) -> list[Any]:
    """Fully decoded RGB PIL images; an undecodable one is the client's fault (400), named by index."""
    from PIL import Image

    images = []
    for i, data in enumerate(payloads):
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                images.append(image.convert("RGB"))
        except Image.DecompressionBombError as e:
            raise bad_request(f"image {i + 1} of {len(payloads)} is too large: {e}") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise bad_request(f"image {i + 1} of {len(payloads)} cannot be decoded: {e}") from None
    return images
