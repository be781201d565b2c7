"""The `transformers` backend's server: `transformers serve` (transformers 5, the `serving` extra).

Until it was retired, the project's own server wrapped transformers' model classes, and rows gave it
`--engine-arg KEY=VALUE` pairs. Those rows keep working: each engine-arg becomes a flag of
`transformers serve`, or, where it has none, a setting of the benchmark's own:

    dtype=auto|float32|bfloat16|float16   --dtype VALUE
    device=auto|cpu|cuda|cuda:N|mps       --device VALUE
    device_map=...                        --device VALUE (serve places the model with device_map=its --device)
    attn_implementation=...               --attn-implementation VALUE
    trust_remote_code=true|false          --trust-remote-code, or nothing
    max_pixels=N                          the client downscales (aspect kept) a page above N pixels before
                                          sending it (serve has no such setting)
    max_new_tokens=N                      nothing: every request carries the row's max_tokens
    warmup=true|false                     one 1-token request with a page before the pairs start; a model that
                                          cannot answer it fails there, not on every sample (default true)

Every other word of `args` goes to `transformers serve` as written (`--continuous-batching`, `--compile`...).
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPES = ("auto", "float32", "bfloat16", "float16")
_FLAGS = {
    "dtype": "--dtype",
    "device": "--device",
    "device_map": "--device",
    "attn_implementation": "--attn-implementation",
}
ENGINE_ARGS = (*_FLAGS, "trust_remote_code", "max_pixels", "max_new_tokens", "warmup")


@dataclass(frozen=True)
class ServerArgs:
    """A row's `args` as a backend reads them: its server's argv and the settings the benchmark applies."""

    argv: tuple[str, ...]
    max_pixels: int | None = None
    """Pages above this many pixels are downscaled by the client before they are sent."""
    warm_up: bool = False
    """One tiny request once the server is ready, before any pair: a model that cannot answer fails there."""


def as_written(args: tuple[str, ...]) -> ServerArgs:
    """A server that takes its own flags only (vLLM, SGLang, the project's OCR server)."""
    return ServerArgs(tuple(args))


def read_args(args: tuple[str, ...]) -> ServerArgs:
    """A transformers row's args: engine-args translated, the rest passed on as written.
    ValueError: a bad engine-arg, named."""
    argv: list[str] = []
    engine: dict[str, str] = {}
    words = iter(args)
    for word in words:
        if word == "--engine-arg":
            item = next(words, "")
        elif word.startswith("--engine-arg="):
            item = word.removeprefix("--engine-arg=")
        else:
            argv.append(word)
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--engine-arg must be KEY=VALUE, got {item!r}")
        if key not in ENGINE_ARGS:
            raise ValueError(
                f"unknown engine-arg {key!r} for transformers serve; known: {', '.join(ENGINE_ARGS)} "
                "(or give transformers serve's own flags, e.g. --dtype bfloat16)"
            )
        if key in engine:
            raise ValueError(f"engine-arg {key!r} is given twice")
        engine[key] = value.strip()
    if "device" in engine and "device_map" in engine:
        raise ValueError(
            "give device or device_map, not both: transformers serve places the model with --device"
        )
    if engine.get("dtype", "auto") not in DTYPES:
        raise ValueError(f"engine-arg dtype must be one of {', '.join(DTYPES)}, got {engine['dtype']!r}")
    for key, flag in _FLAGS.items():
        if key in engine:
            if any(a == flag or a.startswith(flag + "=") for a in argv):
                raise ValueError(f"engine-arg {key!r} and the flag {flag} both set it: keep one")
            argv += [flag, engine[key]]
    if _boolean(engine, "trust_remote_code", False):
        argv.append("--trust-remote-code")
    for key in ("max_pixels", "max_new_tokens"):
        if key in engine and not (engine[key].isdigit() and int(engine[key]) > 0):
            raise ValueError(f"engine-arg {key} must be a positive integer, got {engine[key]!r}")
    max_pixels = int(engine["max_pixels"]) if "max_pixels" in engine else None
    return ServerArgs(tuple(argv), max_pixels=max_pixels, warm_up=_boolean(engine, "warmup", True))


def _boolean(engine: dict[str, str], key: str, default: bool) -> bool:
    value = engine.get(key)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise ValueError(f"engine-arg {key} must be true or false, got {value!r}")
    return value.lower() == "true"
