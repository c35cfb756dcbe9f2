"""The report as data: sections of blocks, built once (report.py) and rendered twice, to
Markdown (report_markdown.py) and to PDF (report_pdf.py). Text is a tuple of inline parts: a
plain string, or one of the marked parts below; each renderer escapes it for its own format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Code:
    text: str  # a command, a path, an id: monospace, never interpreted


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Emph:
    text: str


@dataclass(frozen=True)
class Verdict:
    text: str  # reproduced / not reproduced / inconclusive: coloured in the PDF
    emphasis: bool = True  # bold in Markdown too (a table's column of verdicts is plain)


@dataclass(frozen=True)
class Link:
    text: str
    target: str  # a path relative to the results folder, or "#anchor" inside the report


Inline = str | Code | Strong | Emph | Verdict | Link
Text = tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int  # 1 the title, 2 a section, 3 a part of one, 4 one claim
    text: Text


@dataclass(frozen=True)
class Paragraph:
    lines: tuple[Text, ...]  # hard line breaks between the lines


@dataclass(frozen=True)
class Quote:
    text: str  # the paper's words, as written (line breaks kept)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]
    widths: tuple[float, ...] | None = None  # fractions of the text width in the PDF


@dataclass(frozen=True)
class Figure:
    experiment: str
    pdf: Path  # relative to the results folder
    pngs: tuple[Path, ...] = ()  # one per page (REPORT.md shows these; the PDF its own pages)
    error: str = ""  # why the PDF could not be read; empty when it could


@dataclass(frozen=True)
class Config:
    path: Path  # relative to the results folder
    text: str | None  # None: not recorded


Block = Heading | Paragraph | Quote | Table | Figure | Config


@dataclass
class Section:
    name: str  # the PDF's running header
    blocks: list[Block] = field(default_factory=list)
    in_pdf: bool = True  # an experiment not run is a line in REPORT.md, no PDF page

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure) and not b.error]


def text(*parts: Inline) -> Text:
    return tuple(p for p in parts if p != "")


def para(*parts: Inline) -> Paragraph:
    return Paragraph((text(*parts),))
