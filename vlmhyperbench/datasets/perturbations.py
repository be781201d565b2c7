"""Image perturbations applied to a sample's image bytes on the fly (robustness runs).

Spec syntax (plan.csv's `perturbation` column): `NAME[:VALUE]`, several chained with `+`, applied
left to right; an empty spec or `none` changes nothing. VALUE is in each perturbation's own unit:

    blur:R           Gaussian blur of radius R pixels                  (default 1.5, 0..20)
    noise:S          Gaussian noise of standard deviation S grey levels (default 12, 0..128)
    rotate:D         rotation by D degrees, direction drawn per sample  (default 2, 0..45)
    jpeg:Q           re-encoded as JPEG of quality Q (lower is worse)   (default 30, 1..95)
    low_contrast:F   contrast scaled to the fraction F (lower is worse) (default 0.5, 0.05..1)

e.g. `blur:2`, `rotate:3`, `noise:20+jpeg:40`. Every random choice is seeded by the key given
(the sample id), so a perturbed image is the same on every run. The result is PNG, or JPEG when the
last step is `jpeg`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from vlmhb_core.errors import ConfigError
from vlmhb_core.registry import Registry

Step = Callable[[Image.Image, float, np.random.Generator], Image.Image]


@dataclass(frozen=True)
class PerturbationKind:
    """A registered perturbation: what it does to an image, and its VALUE's default and range."""

    name: str
    apply: Step
    default: float
    low: float
    high: float
    unit: str


PERTURBATIONS: Registry[PerturbationKind] = Registry(
    "perturbations",
    kind="perturbation",
    expects="decorate the step with @register_perturbation(name, ...)",
    accept=lambda obj: obj if isinstance(obj, PerturbationKind) else None,
    describe=lambda kind: f"unit: {kind.unit}",
)


def register_perturbation(
    name: str, *, default: float, low: float, high: float, unit: str
) -> Callable[[Step], Step]:
    """Decorator that adds a perturbation under `name` (usable in plan.csv)."""

    def wrap(step: Step) -> Step:
        PERTURBATIONS.add(name, PerturbationKind(name, step, default, low, high, unit))
        return step

    return wrap


def perturbation_names() -> list[str]:
    """Built-in names and the names plugins offer (entry-point group vlmhyperbench.perturbations)."""
    return PERTURBATIONS.names()


def get_perturbation(name: str) -> PerturbationKind | None:
    """The perturbation NAME (a plugin's is imported now: PluginError if it cannot be), or None."""
    return PERTURBATIONS.find(name)


def _white(img: Image.Image) -> int | tuple[int, ...]:
    return 255 if img.mode == "L" else (255, 255, 255)


@register_perturbation("blur", default=1.5, low=0, high=20, unit="radius in pixels")
def _blur(img: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(value))


@register_perturbation("noise", default=12, low=0, high=128, unit="standard deviation in grey levels")
def _noise(img: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(img, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, value, pixels.shape).astype(np.float32)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), mode=img.mode)


@register_perturbation("rotate", default=2, low=0, high=45, unit="degrees")
def _rotate(img: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    angle = value if rng.random() < 0.5 else -value
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=_white(img))


@register_perturbation("jpeg", default=30, low=1, high=95, unit="JPEG quality")
def _jpeg(img: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(round(value)))
    buf.seek(0)
    return Image.open(buf)


@register_perturbation("low_contrast", default=0.5, low=0.05, high=1, unit="fraction of the contrast kept")
def _low_contrast(img: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(value)


@dataclass(frozen=True)
class Perturbation:
    """A parsed spec: the steps (name, value) to apply in order; no steps means unchanged."""

    steps: tuple[tuple[str, float], ...] = ()

    def __str__(self) -> str:
        return "+".join(f"{name}:{value:g}" for name, value in self.steps) or "none"

    def __bool__(self) -> bool:
        return bool(self.steps)

    def apply(self, data: bytes, key: str) -> bytes:
        """The perturbed image as PNG (JPEG when the last step is `jpeg`); `key` seeds the randomness."""
        if not self.steps:
            return data
        with Image.open(io.BytesIO(data)) as src:
            img = ImageOps.exif_transpose(src)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
            img = img.convert("L" if img.mode in ("1", "L", "I;16", "I", "F") else "RGB")
        for name, value in self.steps:
            img = get_perturbation(name).apply(img, value, np.random.default_rng(_seed(key, name)))
        buf = io.BytesIO()
        if self.steps[-1][0] == "jpeg":
            img.save(buf, format="JPEG", quality=int(round(self.steps[-1][1])))
        else:
            img.save(buf, format="PNG")
        return buf.getvalue()


def _seed(key: str, name: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}\0{name}".encode(), digest_size=8).digest(), "big")


def parse_perturbation(spec: str | None) -> Perturbation:
    """`"blur:2+jpeg:40"` -> Perturbation; ConfigError (column 'perturbation') naming what is wrong."""
    text = (spec or "").strip()
    if text.lower() in ("", "none"):
        return Perturbation()
    steps = []
    for part in text.split("+"):
        name, _, raw = part.strip().partition(":")
        name = name.strip()
        kind = get_perturbation(name)
        if kind is None:
            raise ConfigError(
                f"unknown perturbation '{name}' in '{text}'",
                column="perturbation",
                allowed=perturbation_names(),
            )
        try:
            value = float(raw) if raw.strip() else kind.default
        except ValueError:
            raise ConfigError(
                f"'{name}': value '{raw}' is not a number ({kind.unit})", column="perturbation"
            ) from None
        if not kind.low <= value <= kind.high:
            raise ConfigError(
                f"'{name}': value {value:g} is outside {kind.low:g}..{kind.high:g} ({kind.unit})",
                column="perturbation",
            )
        steps.append((name, value))
    return Perturbation(tuple(steps))


def perturb(data: bytes, spec: str | Perturbation | None, key: str) -> bytes:
    """Apply `spec` to image bytes, seeded by `key` (the sample id; add the page for multi-page)."""
    p = spec if isinstance(spec, Perturbation) else parse_perturbation(spec)
    return p.apply(data, key)


class PerturbedImage:
    """An image that is perturbed when it is read, deterministically per sample (an ImageSource)."""

    def __init__(self, image, perturbation: str | Perturbation, seed_key: str):
        self.image, self.seed_key = image, seed_key
        self.perturbation = (
            perturbation if isinstance(perturbation, Perturbation) else parse_perturbation(perturbation)
        )

    @property
    def mime(self) -> str:
        return "image/jpeg" if self.perturbation.steps[-1][0] == "jpeg" else "image/png"

    def read_bytes(self) -> bytes:
        return self.perturbation.apply(self.image.read_bytes(), self.seed_key)
