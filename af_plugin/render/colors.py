"""Colour strings (``#rrggbb``, ``#rgb``, ``transparent``) → RGB tuples, with errors that say what is allowed."""

from __future__ import annotations

from af_plugin.errors import ConfigError


def parse_color(text: str, key: str = "color") -> tuple[int, int, int] | None:
    """``#rrggbb``/``#rgb`` → (r, g, b); ``transparent``/``none`` → None."""
    t = text.strip().lower()
    if t in ("transparent", "none"):
        return None
    h = t[1:] if t.startswith("#") else t
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    try:
        if len(h) != 6:
            raise ValueError
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    except ValueError:
        raise ConfigError(key, f"{text!r} is not a colour; use #rrggbb, #rgb or 'transparent'") from None
