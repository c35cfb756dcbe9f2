"""report.pdf from the report's blocks (report_blocks.py): reportlab's platypus lays out the
text pages of each section (wrapping, page breaks, tables whose header repeats on every page);
each experiment's figure PDFs follow its text pages as they are, still vector (pypdfium2)."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

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
from wgan_repro.results import write_with

MARGIN = 40.0  # points
SANS, MONO = "DejaVuSans", "DejaVuSansMono"  # shipped with matplotlib: always there, and
# unlike the PDF base fonts they hold the papers' symbols (−, σ, α, ≥, …)
FONT_FILES = {SANS: "DejaVuSans.ttf", f"{SANS}-Bold": "DejaVuSans-Bold.ttf",
              f"{SANS}-Oblique": "DejaVuSans-Oblique.ttf",
              f"{SANS}-BoldOblique": "DejaVuSans-BoldOblique.ttf", MONO: "DejaVuSansMono.ttf"}
BODY_SIZE = 8.5
TABLE_SIZE = 7.0
CONFIG_SIZE = 6.5
CONFIG_COLUMN_CHARS = 60  # two columns of 6.5-point monospace on A4 with 40-point margins
HEADING_SIZES = {1: 18.0, 2: 14.0, 3: 11.0, 4: 9.5}
VERDICT_COLORS = {"reproduced": "#1a7f37", "not reproduced": "#cf222e",
                  "inconclusive": "#9a6700"}


def register_fonts() -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if SANS in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=f"{SANS}-Bold",
                                  italic=f"{SANS}-Oblique", boldItalic=f"{SANS}-BoldOblique")


def styles() -> dict:
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=SANS, fontSize=BODY_SIZE, leading=BODY_SIZE * 1.3,
                          spaceAfter=4)
    made = {"body": body,
            "cell": ParagraphStyle("cell", body, fontSize=TABLE_SIZE, leading=TABLE_SIZE * 1.25,
                                   spaceAfter=0),
            "quote": ParagraphStyle("quote", body, fontName=f"{SANS}-Oblique", leftIndent=12,
                                    textColor="#444444"),
            "config": ParagraphStyle("config", body, fontName=MONO, fontSize=CONFIG_SIZE,
                                     leading=CONFIG_SIZE * 1.25, spaceAfter=0)}
    for level, size in HEADING_SIZES.items():
        made[level] = ParagraphStyle(f"h{level}", body, fontName=f"{SANS}-Bold", fontSize=size,
                                     leading=size * 1.25, spaceBefore=size * 0.6,
                                     spaceAfter=size * 0.3, keepWithNext=1)
    return made


def markup(part: Inline) -> str:
    """reportlab's paragraph markup for one inline part: text escaped, line breaks kept."""
    text = escape(part if isinstance(part, str) else part.text).replace("\n", "<br/>")
    if isinstance(part, Code):
        return f'<font face="{MONO}">{text}</font>'
    if isinstance(part, Strong):
        return f"<b>{text}</b>"
    if isinstance(part, Emph):
        return f"<i>{text}</i>"
    if isinstance(part, Verdict):
        return f'<b><font color="{VERDICT_COLORS.get(part.text, "#000000")}">{text}</font></b>'
    return text  # a plain string, or a link's text (its target is a file or an anchor)


def line(text: Text) -> str:
    return "".join(markup(part) for part in text)


def table(block: Table, style: dict, width: float):
    from reportlab.platypus import LongTable, TableStyle
    from reportlab.platypus import Paragraph as Para

    header = [Para(f"<b>{escape(h)}</b>", style["cell"]) for h in block.header]
    rows = [[Para(line(cell), style["cell"]) for cell in row] for row in block.rows]
    fractions = block.widths or (1 / len(block.header),) * len(block.header)
    flowable = LongTable([header, *rows], colWidths=[f * width for f in fractions],
                         repeatRows=1)  # the header again on every page the table spans
    flowable.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, "#4d4d4d"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, "#bfbfbf"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return flowable


def config(block: Config, style: dict) -> list:
    from reportlab.platypus import Paragraph as Para
    from reportlab.platypus import Preformatted
    from reportlab.platypus.flowables import BalancedColumns

    if block.text is None:
        return [Para(escape(f"Config not recorded ({block.path.as_posix()} is missing)."),
                     style["body"])]
    # Two columns of YAML, each page's pair balanced; a long line wraps at the column's
    # width in characters (DejaVu Sans Mono: 0.6 em a glyph).
    lines = [Preformatted(line, style["config"], maxLineLength=CONFIG_COLUMN_CHARS,
                          newLineChars="    ")
             for line in block.text.expandtabs(2).rstrip("\n").split("\n")]
    return [Para(escape(block.path.as_posix()), style["cell"]),
            BalancedColumns(lines, nCols=2, spaceBefore=2)]


def flowables(block: Block, style: dict, width: float) -> list:
    from reportlab.platypus import Paragraph as Para
    from reportlab.platypus import Spacer

    if isinstance(block, Heading):
        return [Para(line(block.text), style[block.level])]
    if isinstance(block, Paragraph):
        return [Para("<br/>".join(line(text) for text in block.lines), style["body"])]
    if isinstance(block, Quote):
        return [Para(escape(block.text).replace("\n", "<br/>"), style["quote"])]
    if isinstance(block, Table):
        return [table(block, style, width), Spacer(1, 4)]
    if isinstance(block, Figure):
        pages = len(block.pngs)
        note = f": {block.error}" if block.error else \
            f", {pages} page{'s' if pages != 1 else ''}, follows"
        return [Para(escape(f"{block.pdf.as_posix()}{note}"), style["body"])]
    return config(block, style)


def section_pdf(section: Section) -> bytes:
    """One section's text pages, each with a running header naming the section."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    register_fonts()
    style = styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title="wgan-repro report",
                            invariant=1)  # the same input gives the same bytes

    def header(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(SANS, 7)
        canvas.setFillColor("#737373")
        canvas.drawString(MARGIN, A4[1] - MARGIN + 16, f"wgan-repro report · {section.name}")
        canvas.drawRightString(A4[0] - MARGIN, MARGIN - 20, str(doc.page))
        canvas.restoreState()

    story = [f for block in section.blocks for f in flowables(block, style, doc.width)]
    doc.build(story, onFirstPage=header, onLaterPages=header)
    return buffer.getvalue()


def write(path: Path, results_dir: Path, sections: list[Section]) -> int:
    """report.pdf: each section's text pages, then its figures' own pages (imported as they
    are, so they stay vector). Returns the page count."""
    import pypdfium2 as pdfium

    parts: list = []
    for section in sections:
        if section.in_pdf:
            parts.append(section_pdf(section))
            parts += [results_dir / f.pdf for f in section.figures]
    pages = 0

    def save(tmp: Path) -> None:
        nonlocal pages
        out = pdfium.PdfDocument.new()
        sources = [pdfium.PdfDocument(part) for part in parts]
        try:
            for source in sources:
                out.import_pages(source)
            out.save(tmp)
            pages = len(out)
        finally:
            for source in sources:
                source.close()
            out.close()

    write_with(path, save)
    return pages
