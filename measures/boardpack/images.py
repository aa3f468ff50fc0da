"""Small pictures shared by the renderers: trend sparklines and Making Data Count style icons (PNG)."""

from __future__ import annotations

import io
from functools import lru_cache

from .. import charts


_ICON_COLOURS = charts.ICON_COLOURS


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def sparkline_png(values: tuple[float, ...], last_point_type: str | None = None) -> bytes | None:
    """A small trend line (oldest to latest) with the latest point coloured as on the SPC chart."""
    if len(values) < 2:
        return None
    from PIL import Image, ImageDraw

    width, height, pad = 330, 84, 9
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    points = [(pad + i * (width - 2 * pad) / (len(values) - 1),
               height - pad - (v - low) / span * (height - 2 * pad)) for i, v in enumerate(values)]
    mean_y = height - pad - (sum(values) / len(values) - low) / span * (height - 2 * pad)
    draw.line([(pad, mean_y), (width - pad, mean_y)], fill=_rgb(charts.NHS_PALE_GREY), width=2)
    draw.line(points, fill=_rgb(charts.NHS_BLUE), width=4, joint="curve")
    x, y = points[-1]
    colour = _rgb(charts.POINT_COLOURS.get(last_point_type or "", charts.NHS_DARK_BLUE))
    draw.ellipse([x - 7, y - 7, x + 7, y + 7], fill=colour, outline="white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@lru_cache(maxsize=32)
def icon_png(kind: str | None) -> bytes | None:
    """A round icon in the Making Data Count colours: H or L for special cause, P, F or ? for assurance."""
    if not kind:
        return None
    from PIL import Image, ImageDraw, ImageFont

    size = 96
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    group = kind if kind in _ICON_COLOURS else kind.split("_")[0]
    colour = _rgb(_ICON_COLOURS.get(group, charts.NHS_MID_GREY))
    draw.ellipse([3, 3, size - 3, size - 3], fill="white", outline=colour, width=8)
    letter = {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}.get(kind)
    if letter is None and kind != "common_cause":
        letter = "H" if kind.endswith("high") else "L"
    if letter:
        font = ImageFont.load_default(size=52)
        draw.text((size / 2, size / 2 + 2), letter, fill=colour, font=font, anchor="mm")
    else:  # common cause: a flat wavy line, as on the NHS icon
        wave = [(20 + i * 7, size / 2 + (-8 if i % 2 else 8)) for i in range(9)]
        draw.line(wave, fill=colour, width=7, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
