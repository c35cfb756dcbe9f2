"""REPORT.md from the report's blocks (report_blocks.py): GitHub Markdown with relative links
only, every piece of recorded text escaped so it reads exactly as the CSVs hold it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from wgan_repro.report_blocks import (
    Block,
    Code,
    Config,
    Emph,
    Figure,
    Heading,
    Inline,
    Paragraph,
    Quote,
    Section,
    Strong,
    Table,
    Text,
    Verdict,
)

CONFIG_MAX_LINES = 400  # longer configs are linked rather than inlined

# Backslash-escaped so a cell can neither split the table (|) nor swallow text (code spans,
# emphasis, HTML, GitHub's $math$); newlines become <br>, the only line break a cell can hold.
_SPECIAL = re.compile(r"([\\|*`<$])")
# A line that starts with one of these would open a heading, quote, list or rule (the
# backslash goes before the punctuation: 1\. is literal, \1. is not).
_LINE_START = re.compile(r"^(\d*)([#>+\-=.)])")


def escape(text: str) -> str:
    text = _SPECIAL.sub(r"\\\1", str(text))
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def block_line(text: str) -> str:
    """One line of running text (a quote's line), escaped like a cell and unable to start
    a block of its own; leading spaces, which could make it a code block, are dropped."""
    return _LINE_START.sub(r"\1\\\2", _SPECIAL.sub(r"\\\1", str(text).lstrip()))


def code_span(text: str) -> str:
    # A fence one backtick longer than any run inside keeps the text literal.
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_block(text: str, lang: str) -> str:
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def link_target(target: str) -> str:
    if target.startswith("#"):
        return "#" + quote(target[1:])
    return quote(Path(target).as_posix())


def inline(part: Inline) -> str:
    if isinstance(part, str):
        return escape(part)
    if isinstance(part, Code):
        return code_span(part.text)
    if isinstance(part, Strong) or isinstance(part, Verdict) and part.emphasis:
        return f"**{escape(part.text)}**"
    if isinstance(part, Verdict):
        return escape(part.text)
    if isinstance(part, Emph):
        return f"*{escape(part.text)}*"
    # Escaped brackets: a "]" in the text would otherwise end the link text.
    label = re.sub(r"([\[\]])", r"\\\1", escape(part.text))
    return f"[{label}]({link_target(part.target)})"


def line(text: Text) -> str:
    return "".join(inline(part) for part in text)


def table(block: Table) -> str:
    lines = ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header)]
    lines += ["| " + " | ".join(line(cell) for cell in row) + " |" for row in block.rows]
    return "\n".join(lines)


def figure(block: Figure) -> str:
    head = f"**{escape(block.pdf.name)}** ([PDF]({link_target(str(block.pdf))}))"
    if block.error:
        return f"{head}: {escape(block.error)}"
    alt = re.sub(r"[\[\]]", "", f"{block.experiment} {block.pdf.name}")  # brackets end alt text
    images = [f"![{alt}, page {i}]({link_target(str(png))})"
              for i, png in enumerate(block.pngs, 1)]
    return "\n\n".join([head, *images])


def config(block: Config) -> str:
    path = block.path.as_posix()
    if block.text is None:
        return f"Config not recorded ({path} is missing)."
    if block.text.count("\n") > CONFIG_MAX_LINES:
        return f"Config: [{path}]({link_target(path)}) (too long to show here)."
    return "\n".join([f"<details><summary>config ({escape(path)})</summary>", "",
                      code_block(block.text, "yaml"), "", "</details>"])


def render_block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + line(block.text)
    if isinstance(block, Paragraph):
        return "  \n".join(line(text) for text in block.lines)  # two spaces: a line break
    if isinstance(block, Quote):
        lines = block.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(f"> {block_line(text)}".rstrip() for text in lines)
    if isinstance(block, Table):
        return table(block)
    if isinstance(block, Figure):
        return figure(block)
    return config(block)


def render(sections: list[Section]) -> str:
    """Every block of every section, a blank line between blocks."""
    return "\n\n".join(render_block(b) for s in sections for b in s.blocks).rstrip() + "\n"
