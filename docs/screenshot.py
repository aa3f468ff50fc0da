"""Remake docs/board-view.png, the README's picture of the board view, from a fresh synthetic demo.

Run from the repository: `.venv/bin/python docs/screenshot.py`. It builds the demo into a temporary folder,
serves the app on 127.0.0.1 only, draws the board at 1920×1080 in Debian's Chromium (Playwright), saves the
picture scaled to 1440 pixels wide (small enough for a README, sharp enough to read), and stops the server.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from measures.demo import build_demo  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, new_tab, require_chromium, serve_app, visit  # noqa: E402

OUT = ROOT / "docs" / "board-view.png"
PCN = "UZ0009"  # a demo PCN with measures needing attention, so the picture shows every kind of icon
VIEWPORT = {"width": 1920, "height": 1080}
SAVED_WIDTH = 1440
LIMIT_BYTES = 400_000


def capture(out: Path = OUT, pcn: str = PCN) -> int:
    """Build the demo, serve it, save the board as PNG; returns the file's size in bytes."""
    require_chromium()
    with tempfile.TemporaryDirectory(prefix="pcn-screenshot-") as folder:
        db = Path(folder) / "demo.duckdb"
        build_demo(db, scale="demo", seed=2026)
        server = serve_app(db)
        base = next(server)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    with new_tab(browser, viewport=VIEWPORT) as tab:
                        visit(tab, f"{base}/?pcn={pcn}")
                        tab.locator("#pcn-board").wait_for()
                        tab.wait_for_function("[...document.images].every(image => image.complete)")
                        tab.wait_for_timeout(300)  # the last layout after the images arrive
                        picture = tab.screenshot(type="png")
                finally:
                    browser.close()
        finally:
            server.close()  # serve_app stops the server when its generator is closed
    image = Image.open(io.BytesIO(picture)).convert("RGB")
    image = image.resize((SAVED_WIDTH, round(image.height * SAVED_WIDTH / image.width)), Image.LANCZOS)
    # A palette of 256 colours: the board is flat colour and text, so it stays sharp at a fraction of the size.
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to save the PNG (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--pcn", default=PCN, help=f"the demo PCN to show (default {PCN})")
    args = parser.parse_args(argv)
    size = capture(args.out, args.pcn)
    print(f"saved {args.out} ({size / 1000:.0f} KB)", file=sys.stderr)
    if size > LIMIT_BYTES:
        print(f"the picture is over {LIMIT_BYTES // 1000} KB: too big for the README", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
