"""Text from users and files made inert for Streamlit's Markdown, so it shows exactly as written and never as markup."""

from __future__ import annotations

import functools
import re

# The most of one value a message repeats: a hostile 1 MB cell or argument must not make a 1 MB message.
SHOWN_CHARS = 60

# Invisible and zero-width: breaks `http://` and `www.` so GitHub-flavoured Markdown does not turn them into links.
WORD_JOINER = "\u2060"

# Characters that start inline markup anywhere in a line: emphasis, code, links and images, HTML, strikethrough,
# tables, maths (KaTeX), and the attributes of Streamlit's directives.
_INLINE = frozenset("\\`*[]<>$~|{}")
# `_` starts emphasis only at a word boundary; inside a word (an id such as `int_falls_pct`) it is literal.
_LOOSE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# `&amp;`, `&#60;`: an entity would be shown as the character it names.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Block markup at the start of a line: headings, lists, setext underlines (quotes and `*` are escaped anyway).
_LINE_START = re.compile(r"(?m)^([ \t]*)(?:([#+\-=])|(\d+)([.)]))")
# Streamlit directives (`:red[...]`, `:small[...]`, `:material/icon:`) open with a colon before a name; an emoji
# shortcode (`:smile:`) is a name between two colons, looked for in the raw source, so both colons are escaped.
_DIRECTIVE_COLON = re.compile(r":(?=[\w+-])")
_SHORTCODE = re.compile(r"(?=:([\w+-][\w+-]*):)")
# Streamlit rewrites `:material/` in the raw source before parsing, escaped colon or not.
_MATERIAL = ":material"
_AUTOLINK_SCHEME = re.compile(r"(?i)(https?:)(//)")
_AUTOLINK_WWW = re.compile(r"(?i)(www)(\.)")


def escape_markdown(text: object) -> str:
    """`text` escaped for Streamlit Markdown (bodies, captions, alerts, titles, labels and tooltips).

    What shows is exactly the text: no link, image, HTML, emphasis, heading, list, maths, colour or icon
    directive can come out of it. The product's own formatting around it (`**Label:** ` + escaped) still works.
    """
    if text is None:
        return ""
    source = str(text)
    return _escaped(source) if len(source) <= _REMEMBERED_CHARS else _escape(source)


# The catalogue's texts are escaped again on every run of every page (500 a run of the Overview), a character at a
# time; what was escaped is remembered, up to texts of a few paragraphs, so a hostile megabyte is never kept.
_REMEMBERED_CHARS = 2_000


@functools.lru_cache(maxsize=8_192)
def _escaped(source: str) -> str:
    return _escape(source)


def _escape(source: str) -> str:
    closing_colons = {match.end(1) for match in _SHORTCODE.finditer(source)}
    marked = []
    for index, char in enumerate(source):
        if char in _INLINE:
            marked.append("\\" + char)
        elif char == ":" and (index in closing_colons or _DIRECTIVE_COLON.match(source, index)):
            marked.append("\\:")
        elif char == "/" and source[max(0, index - len(_MATERIAL)):index] == _MATERIAL:
            marked.append("\\/")
        elif char == "_" and _LOOSE_UNDERSCORE.match(source, index):
            marked.append("\\_")
        elif char == "&" and _ENTITY.match(source, index):
            marked.append("\\&")
        else:
            marked.append(char)
    escaped = _LINE_START.sub(_escape_line_start, "".join(marked))
    escaped = _AUTOLINK_SCHEME.sub(rf"\1{WORD_JOINER}\2", escaped)
    return _AUTOLINK_WWW.sub(rf"\1{WORD_JOINER}\2", escaped)


def _escape_line_start(match: re.Match) -> str:
    indent, marker, number, after = match.groups()
    if marker:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{after}"  # `1.` or `2)` starts an ordered list; escaping its dot is enough


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as a message repeats it: at most `limit` characters, then how long it really is."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value quoted for a message (as repr), cut to a readable length."""
    text = str(value)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"
