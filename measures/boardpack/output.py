"""The pack's file formats: render a pack as PowerPoint, Word or PDF, and write it to a file named for its format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .. import access
from ..store import Store
from ..text import shown
from .build import build_pack
from .docx import render_docx
from .model import BoardPack
from .neighbourhood import build_neighbourhood_pack
from .pdf import render_pdf
from .pptx import render_pptx


FORMATS = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
FORMAT_LABELS = {"pptx": "PowerPoint", "docx": "Word", "pdf": "PDF"}


def render(pack: BoardPack, fmt: str) -> bytes:
    renderers = {"pptx": render_pptx, "docx": render_docx, "pdf": render_pdf}
    if fmt not in renderers:
        raise ValueError(f"board pack format must be one of {', '.join(renderers)}, got {fmt!r}")
    return renderers[fmt](pack)


def format_of(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"the output file must end in .pptx, .docx or .pdf, got {Path(path).name!r}")
    return suffix


def write_pack(store: Store, pcn_code: str, out: Path | str, period: str | date | None = None,
               *, produced: date | None = None, principal: access.Principal = access.OPEN,
               neighbourhood: bool = False) -> BoardPack:
    """Build the pack (of a neighbourhood, with `neighbourhood`) and write it in the format its file name ends with."""
    fmt = format_of(out)
    build = build_neighbourhood_pack if neighbourhood else build_pack
    pack = build(store, pcn_code, period, produced=produced, principal=principal)
    data = render(pack, fmt)
    # A folder is never created: a mistyped path would silently put the pack where nobody looks for it.
    if not Path(out).parent.is_dir():
        raise ValueError(f"the folder {shown(str(Path(out).parent), 200)} does not exist; create it first, or write the "
                         "pack into a folder that does. The board pack was not written.")
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise ValueError(f"could not write {shown(str(out), 200)}: {exc.strerror or type(exc).__name__}. The board pack "
                         "was not written; choose another file name or folder.") from None
    return pack
