"""Where the embedded default benchmark lives: `configs/default` of the working folder, else the checkout's.

The commands name it by the relative path `configs/default` (their `--config` default), which works from a
clone's root; with the project installed from a checkout (`pip install -e .`), a command run from another
folder still finds the checkout's own copy.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG = "configs/default"
_CHECKOUT = Path(__file__).resolve().parents[2]


def default_config(config: str | Path = DEFAULT_CONFIG) -> str:
    """CONFIG as given, except the default path when the working folder has none: the checkout's then."""
    if str(config) != DEFAULT_CONFIG or Path(DEFAULT_CONFIG).is_dir():
        return str(config)
    own = _CHECKOUT / DEFAULT_CONFIG
    return str(own) if own.is_dir() else DEFAULT_CONFIG
