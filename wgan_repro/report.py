"""`wgan-repro report`: one Markdown and one PDF report of everything under a results folder.

It only reads files (claims.csv, timings.csv, each experiment's figure PDFs and config.yaml):
nothing is trained or re-run, and torch is never imported, so a report of a paper-scale run
can be built on any laptop that holds its results folder.

Outputs, all inside the results folder so it can be committed and read as is on GitHub:
REPORT.md (relative links only), report_figures/*.png (every figure page, for REPORT.md) and
report.pdf (text pages made with matplotlib, then the figure PDFs' own pages, still vector).
"""

from __future__ import annotations

import io
import platform
import re
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from wgan_repro.errors import ResultsError
from wgan_repro.results import (
    CLAIMS_COLUMNS,
    EXPERIMENT_DIRS,
    TIMINGS_COLUMNS,
    VERDICTS,
    write_text,
    write_with,
)

# Report order: the papers' figures first, then the probes.
EXPERIMENTS = ("fig2", "curve", "ablate", "toy", "probe_adam", "probe_noise")
VERBS = {"fig2": "fig2", "curve": "curve", "ablate": "ablate --all", "toy": "toy",
         "probe_adam": "probe adam", "probe_noise": "probe noise"}
TITLES = {
    "fig2": "P1 Figures 1–3: a discriminator trained against frozen DCGAN generators; "
            "the original cost's gradient vanishes, the −log D cost's does not",
    "curve": "P2 Figures 3–4: the WGAN critic's estimate against independent measures of "
             "sample quality",
    "ablate": "P2 Figures 5–7: WGAN against the standard GAN with DCGAN, no-batch-norm and MLP "
              "generators; mode collapse",
    "toy": "P2 Figures 1–2: parallel lines and two 1-D Gaussians",
    "probe_adam": "P2 §4.2: Adam against RMSProp on the WGAN critic (step cosine, blow-ups)",
    "probe_noise": "P1 §3: the fig2 protocol without and with instance noise (fixed σ per arm)",
}
# Both probes share results/probe/, so each has its own config file there.
CONFIG_FILES = {"probe_adam": "config_adam.yaml", "probe_noise": "config_noise.yaml"}
FIGURES_DIR = "report_figures"
PNG_MAX_WIDTH = 1400  # px: axis labels stay readable on GitHub, files stay small
PNG_MAX_SCALE = 3.0  # px per PDF point, for small figures
MD_CONFIG_MAX_LINES = 400  # longer configs are linked rather than inlined in REPORT.md
MACHINE_PACKAGES = ("torch", "torchvision", "hydra-core", "numpy", "pandas", "matplotlib",
                    "pypdfium2")


@dataclass
class Figure:
    pdf: Path  # relative to the results folder
    pngs: list[Path] = field(default_factory=list)  # one per page, relative too
    error: str = ""  # why the PDF could not be read; empty when it could


@dataclass
class Experiment:
    name: str
    claims: list[dict]
    timing: dict | None
    figures: list[Figure]
    config: Path  # relative to the results folder
    config_text: str | None  # None: not recorded

    @property
    def present(self) -> bool:
        return bool(self.figures or self.claims or self.timing)


# ---------------------------------------------------------------------------------- inputs


def _no_results(results_dir: Path, why: str) -> ResultsError:
    return ResultsError(f"no results in {results_dir} ({why}): run `wgan-repro all` "
                        "(or one experiment verb) first")


def read_claims(results_dir: Path) -> list[dict]:
    """claims.csv rows in file order, every cell as the exact text written."""
    import pandas as pd

    if not results_dir.exists():
        raise _no_results(results_dir, "the folder does not exist")
    if not results_dir.is_dir():
        raise ResultsError(f"results path {results_dir} is a file, not a folder")
    path = results_dir / "claims.csv"
    if not path.is_file():
        raise _no_results(results_dir, "no claims.csv")
    try:
        # dtype=str: a paper value such as "1e-3" must stay as written, not become 0.001.
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    except pd.errors.EmptyDataError:
        raise _no_results(results_dir, "claims.csv is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ResultsError(f"cannot read {path}: {first_line}") from None
    columns = tuple(frame.columns)
    if columns != CLAIMS_COLUMNS:
        missing = [c for c in CLAIMS_COLUMNS if c not in columns]
        # A strict subset of today's columns is what an older wgan-repro wrote (before claims
        # carried their quote, rule and reason): say how to bring it up to date.
        if set(columns) < set(CLAIMS_COLUMNS):
            raise ResultsError(f"{path} was written by an older wgan-repro (no "
                               f"{', '.join(missing)} columns): `wgan-repro report --rejudge` "
                               "recomputes the verdicts from the CSVs")
        raise ResultsError(f"{path} has columns {list(columns)}, "
                           f"expected {list(CLAIMS_COLUMNS)}")
    return frame.to_dict("records")


def read_timings(results_dir: Path) -> dict[str, dict] | None:
    """experiment -> its timings.csv row (the last one if repeated); None without the file,
    which results made before timings were recorded lack."""
    import pandas as pd

    path = results_dir / "timings.csv"
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    except pd.errors.EmptyDataError:
        return {}
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ResultsError(f"cannot read {path}: {type(err).__name__}") from None
    if "experiment" not in frame.columns:
        raise ResultsError(f"{path} has no experiment column; expected {list(TIMINGS_COLUMNS)}")
    # Older files may lack a column added later: those cells read as empty.
    return {row["experiment"]: {c: row.get(c, "") for c in TIMINGS_COLUMNS}
            for row in frame.to_dict("records")}


def _owner_of_probe_pdf(pdf: Path) -> str:
    return "probe_adam" if pdf.name.startswith("adam") else "probe_noise"


def figure_pdfs(results_dir: Path, name: str) -> list[Path]:
    """The experiment's figure PDFs, relative to the results folder, sorted by name; only
    those directly inside its folder (run subfolders hold per-run material, not figures)."""
    folder = EXPERIMENT_DIRS[name]
    pdfs = sorted(p for p in (results_dir / folder).glob("*.pdf") if p.is_file())
    if folder == "probe":
        pdfs = [p for p in pdfs if _owner_of_probe_pdf(p) == name]
    return [p.relative_to(results_dir) for p in pdfs]


def read_experiment(results_dir: Path, name: str, claims: list[dict],
                    timings: dict[str, dict] | None) -> Experiment:
    config = Path(EXPERIMENT_DIRS[name]) / CONFIG_FILES.get(name, "config.yaml")
    config_file = results_dir / config
    return Experiment(
        name=name,
        claims=[c for c in claims if c["experiment"] == name],
        timing=(timings or {}).get(name),
        figures=[Figure(pdf) for pdf in figure_pdfs(results_dir, name)],
        config=config,
        config_text=config_file.read_text(errors="replace") if config_file.is_file() else None,
    )


# ------------------------------------------------------------------------------ figure PNGs


def png_name(experiment: str, pdf: Path, page: int) -> str:
    return f"{experiment}__{pdf.stem}_p{page}.png"


def _save_png(image, path: Path) -> None:
    # A 256-colour palette without dithering keeps plots crisp at a third of the RGB size.
    palette = image.convert("RGB").quantize(colors=256, method=2, dither=0)
    write_with(path, lambda tmp: palette.save(tmp, format="PNG", optimize=True))


def render_figure(results_dir: Path, experiment: str, figure: Figure) -> None:
    """Every page of the figure's PDF to report_figures/ as PNG; a PDF pdfium cannot open is
    recorded on the figure and reported, not fatal."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(results_dir / figure.pdf)
    except pdfium.PdfiumError as err:
        figure.error = f"could not be read ({err})"
        return
    try:
        for index in range(len(doc)):
            page = doc[index]
            width_pt = page.get_width()
            scale = min(PNG_MAX_WIDTH / width_pt, PNG_MAX_SCALE) if width_pt > 0 else 1.0
            image = page.render(scale=scale).to_pil()
            png = Path(FIGURES_DIR) / png_name(experiment, figure.pdf, index + 1)
            _save_png(image, results_dir / png)
            figure.pngs.append(png)
    finally:
        doc.close()


def remove_stale_pngs(results_dir: Path, keep: set[Path]) -> None:
    """PNGs of figures that are gone (renamed, removed experiment) must not linger in a
    committed report folder."""
    folder = results_dir / FIGURES_DIR
    if not folder.is_dir():
        return
    for png in folder.glob("*.png"):
        if png.relative_to(results_dir) not in keep:
            png.unlink()


def render_figures(results_dir: Path, experiments: list[Experiment]) -> list[Path]:
    for experiment in experiments:
        for figure in experiment.figures:
            render_figure(results_dir, experiment.name, figure)
    pngs = [png for e in experiments for f in e.figures for png in f.pngs]
    remove_stale_pngs(results_dir, set(pngs))
    return pngs


# ---------------------------------------------------------------------------- shared text


def human_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _seconds(timing: dict | None) -> float | None:
    try:
        value = float(timing["wall_s"]) if timing else None
    except (KeyError, ValueError):
        return None
    return value if value is not None and value >= 0 else None


def wall_time(timing: dict | None) -> str:
    seconds = _seconds(timing)
    return human_duration(seconds) if seconds is not None else "not recorded"


def finished(timing: dict | None) -> str:
    text = (timing or {}).get("finished_utc", "")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text or "not recorded"
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def command(experiment: Experiment) -> tuple[str, str]:
    """The command that made the results and a note; without a record, the verb's usual
    command, saying so."""
    recorded = (experiment.timing or {}).get("command", "")
    if recorded:
        return recorded, ""
    return f"wgan-repro {VERBS[experiment.name]}", " (usual command; not recorded)"


def verdict_counts(claims: list[dict]) -> str:
    counts: dict[str, int] = {}
    for claim in claims:
        counts[claim["verdict"]] = counts.get(claim["verdict"], 0) + 1
    # The declared verdicts first, in their order; anything else after, as written.
    order = [v for v in VERDICTS if v in counts] + sorted(set(counts) - set(VERDICTS))
    return ", ".join(f"{counts[v]} {v}" for v in order) or "no claims"


def machine_versions() -> list[tuple[str, str]]:
    """The building machine's versions, from package metadata: importing torch just to read
    its version would cost seconds and is exactly what this verb avoids."""
    from wgan_repro import __version__

    rows = [("wgan-repro", __version__), ("Python", platform.python_version())]
    for package in MACHINE_PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    rows.append(("platform", platform.platform()))
    return rows


def recorded_environments(experiments: list[Experiment]) -> list[tuple[str, str, str, str]]:
    return [(e.name, e.timing.get("python_version") or "?", e.timing.get("torch_version") or "?",
             e.timing.get("device") or "?") for e in experiments if e.timing]


TIME_HEADER = ("experiment", "command", "tier", "launcher", "seeds", "jobs", "wall time",
               "finished")


def time_rows(experiments: list[Experiment]) -> list[tuple[str, ...]]:
    rows = []
    for e in experiments:
        if not e.present:
            continue
        t = e.timing or {}
        rows.append((e.name, t.get("command") or "not recorded", t.get("tier", ""),
                     t.get("launcher", ""), t.get("seeds", ""), t.get("jobs", ""),
                     wall_time(e.timing), finished(e.timing) if e.timing else ""))
    return rows


def total_time(experiments: list[Experiment]) -> str:
    seconds = [_seconds(e.timing) for e in experiments if e.present]
    known = [s for s in seconds if s is not None]
    if not known:
        return "not recorded"
    missing = len(seconds) - len(known)
    return human_duration(sum(known)) + (f" (+ {missing} not recorded)" if missing else "")


# -------------------------------------------------------------------------------- Markdown

# Backslash-escaped so a cell can neither split the table (|) nor swallow text (code spans,
# emphasis, HTML, GitHub's $math$); newlines become <br>, the only line break a cell can hold.
_MD_SPECIAL = re.compile(r"([\\|*`<$])")


def md_escape(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", str(text))
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def md_table(header: tuple[str, ...], rows: list[tuple[str, ...]],
             markdown_columns: tuple[int, ...] = ()) -> str:
    """A table of escaped cells; those in markdown_columns are already Markdown (links)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell if i in markdown_columns else md_escape(cell)
                                for i, cell in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)


# A line that starts with one of these would open a heading, quote, list or rule (the
# backslash goes before the punctuation: 1\. is literal, \1. is not).
_MD_LINE_START = re.compile(r"^(\d*)([#>+\-=.)])")


def md_block_line(text: str) -> str:
    """One line of running text (a quote's line), escaped like a cell and unable to start
    a block of its own; leading spaces, which could make it a code block, are dropped."""
    return _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", str(text).lstrip()))


def _code_span(text: str) -> str:
    # A fence one backtick longer than any run inside keeps the text literal.
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _code_block(text: str, lang: str) -> str:
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _link(path: Path) -> str:
    return quote(path.as_posix())


# The overview lists every claim in a line; quote, rule and measurement are in the
# experiment's section, one block per claim, where long quotes have room.
CLAIMS_HEADER = ("experiment", "claim id", "claim", "verdict")


def claims_rows(claims: list[dict]) -> list[tuple[str, ...]]:
    return [(c["experiment"], c["claim_id"], c["claim"], c["verdict"]) for c in claims]


def _slug(text: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _claim_heading(claim: dict) -> str:
    return f"Claim {claim['claim_id']}".strip()


def claim_anchors(experiments: list[Experiment]) -> dict[int, str]:
    """id(claim row) -> the anchor of its block, in the order the blocks appear; a repeated
    heading gets GitHub's -1, -2 suffix. The "Claim " prefix keeps these apart from every
    other heading of the report. A claim of no known experiment has no block, so no anchor."""
    seen: dict[str, int] = {}
    anchors = {}
    for claim in (c for e in experiments for c in e.claims):
        slug = _slug(_claim_heading(claim))
        anchors[id(claim)] = f"{slug}-{seen[slug]}" if slug in seen else slug
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def md_claims_overview(claims: list[dict], anchors: dict[int, str]) -> str:
    rows = []
    for claim, (experiment, claim_id, text, verdict) in zip(claims, claims_rows(claims)):
        claim_id = md_escape(claim_id)
        if claim_id and id(claim) in anchors:  # an empty link would not show
            # Escaped brackets: a "]" in the id would otherwise end the link text.
            claim_id = re.sub(r"([\[\]])", r"\\\1", claim_id)
            claim_id = f"[{claim_id}](#{quote(anchors[id(claim)])})"
        rows.append((experiment, claim_id, text, verdict))
    return md_table(CLAIMS_HEADER, rows, markdown_columns=(1,))


def md_environment(experiments: list[Experiment]) -> str:
    recorded = recorded_environments(experiments)
    parts = ["## Environment", "",
             "Recorded with the results (timings.csv):" if recorded else
             "Recorded with the results: not recorded (no timings.csv)."]
    if recorded:
        parts += ["", md_table(("experiment", "Python", "torch", "device"), recorded)]
    parts += ["", "This machine, which built the report:", "",
              md_table(("package", "version"), machine_versions())]
    return "\n".join(parts)


def md_time(experiments: list[Experiment], timings: dict | None) -> str:
    parts = ["## Time", ""]
    if timings is None:
        parts.append("Time not recorded: there is no timings.csv (results made before timings "
                     "were recorded).")
        return "\n".join(parts)
    parts += [md_table(TIME_HEADER, time_rows(experiments)), "",
              f"Total wall time: {total_time(experiments)}."]
    return "\n".join(parts)


def md_figure(experiment: Experiment, figure: Figure) -> str:
    name = figure.pdf.name
    head = f"**{md_escape(name)}** ([PDF]({_link(figure.pdf)}))"
    if figure.error:
        return f"{head}: {md_escape(figure.error)}"
    alt = re.sub(r"[\[\]]", "", f"{experiment.name} {name}")
    images = [f"![{alt}, page {i}]({_link(png)})" for i, png in enumerate(figure.pngs, 1)]
    return "\n\n".join([head, *images])


def md_config(experiment: Experiment) -> str:
    link = f"[{experiment.config.as_posix()}]({_link(experiment.config)})"
    if experiment.config_text is None:
        return f"Config not recorded ({experiment.config.as_posix()} is missing)."
    if experiment.config_text.count("\n") > MD_CONFIG_MAX_LINES:
        return f"Config: {link} (too long to show here)."
    return "\n".join([f"<details><summary>config ({md_escape(experiment.config.as_posix())})"
                      "</summary>", "", _code_block(experiment.config_text, "yaml"), "",
                      "</details>"])


def md_claim_block(claim: dict) -> str:
    """One claim: its id as a heading (the overview links here), the verdict and why, the
    paper's words, the rule they were judged by, and what was measured against the paper."""
    heading = "#### Claim" + (f" {_code_span(claim['claim_id'])}" if claim["claim_id"] else "")
    verdict = f"**{md_escape(claim['verdict'])}**"
    if claim["reason"]:
        verdict += f": {md_escape(claim['reason'])}"
    quote_lines = claim["paper_quote"].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parts = [heading, ""]
    if claim["claim"]:
        parts += [f"*{md_escape(claim['claim'])}*", ""]
    parts += [verdict, ""]
    if claim["paper_quote"]:
        parts += [f"> {md_block_line(line)}".rstrip() for line in quote_lines] + [""]
    parts += [f"Rule: {md_escape(claim['rule'])}  ",
              f"Measured: {md_escape(claim['measured_value'])}  ",
              f"Paper: {md_escape(claim['paper_value'])}  ",
              f"Source: {md_escape(claim['source'])}"]
    return "\n".join(parts)


def md_experiment(experiment: Experiment) -> str:
    name = experiment.name
    parts = [f"## {name}", "", f"*{TITLES[name]}*", ""]
    if not experiment.present:
        parts.append(f"Not run (run `wgan-repro {VERBS[name]}`).")
        return "\n".join(parts)
    timing = experiment.timing or {}
    text, note = command(experiment)
    parts += [f"Command: {_code_span(text)}{note}  ",
              f"Time: {wall_time(experiment.timing)}"
              + (f", finished {finished(timing)} on {md_escape(timing.get('device') or '?')}"
                 if experiment.timing else ""), ""]
    # Headings for claims, figures and config: each claim is a heading of its own (the
    # overview links to it), and the figures must not read as part of the last claim.
    parts += [f"### Claims: {verdict_counts(experiment.claims)}", ""]
    parts += [part for claim in experiment.claims for part in (md_claim_block(claim), "")]
    if not experiment.claims:
        parts += ["No claims recorded.", ""]
    parts += ["### Figures", ""]
    for figure in experiment.figures:
        parts += [md_figure(experiment, figure), ""]
    if not experiment.figures:
        parts += ["No figures.", ""]
    parts += ["### Config", "", md_config(experiment)]
    return "\n".join(parts)


def markdown_report(results_dir: Path, experiments: list[Experiment], claims: list[dict],
                    timings: dict | None, built: str) -> str:
    present = [e.name for e in experiments if e.present]
    absent = [e.name for e in experiments if not e.present]
    contents = ", ".join(f"[{e.name}](#{e.name})" for e in experiments)
    anchors = claim_anchors(experiments)
    parts = [
        "# wgan-repro report", "",
        f"Built {built} from {_code_span(str(results_dir))} by wgan-repro report, which only "
        "reads files: "
        "nothing was trained or re-run.", "",
        f"Experiments: {contents}. Run: {', '.join(present) or 'none'}; "
        f"not run: {', '.join(absent) or 'none'}.", "",
        md_environment(experiments), "",
        "## Claims", "",
        f"{len(claims)} claims: {verdict_counts(claims)}.", "",
        md_claims_overview(claims, anchors) if claims else "No claims recorded.", "",
        md_time(experiments, timings), "",
    ]
    parts += [md_experiment(e) + "\n" for e in experiments]
    return "\n".join(parts).rstrip() + "\n"


# ------------------------------------------------------------------------------ PDF pages

PAGE_W, PAGE_H = 595.3, 841.9  # A4 portrait, points
MARGIN = 40.0
TEXT_W = PAGE_W - 2 * MARGIN
SANS, MONO = "DejaVu Sans", "DejaVu Sans Mono"  # shipped with matplotlib: always there
TABLE_SIZE = 7.0
CONFIG_SIZE = 6.5
CELL_PAD = 3.0
LEADING = 1.25  # line height / font size
VERDICT_COLORS = {"reproduced": "#1a7f37", "not reproduced": "#cf222e",
                  "inconclusive": "#9a6700"}


class _TextPages:
    """Lays text, tables and columns out top to bottom on A4 pages, starting a new page when
    one is full; every page carries a small running header naming its section."""

    def __init__(self, section: str):
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        from wgan_repro.plots import _pyplot

        self._plt = _pyplot()
        self._fonts = FontProperties
        self._measure = TextToPath().get_text_width_height_descent
        self.section = section
        self.figures: list = []
        self.y = 0.0
        self.new_page()

    # -- primitives

    def new_page(self) -> None:
        fig = self._plt.figure(figsize=(PAGE_W / 72, PAGE_H / 72))
        self.figures.append(fig)
        self.y = PAGE_H - MARGIN + 16
        self._put(MARGIN, f"wgan-repro report · {self.section}", 7, color="0.45")
        self.y = PAGE_H - MARGIN

    def _font(self, size: float, family: str = SANS, weight: str = "normal"):
        return self._fonts(family=family, size=size, weight=weight)

    def _put(self, x: float, text: str, size: float, family: str = SANS,
             weight: str = "normal", color: str = "black") -> None:
        # parse_math=False: a "$" in a claim is a dollar sign, not mathtext.
        self.figures[-1].text(x / PAGE_W, self.y / PAGE_H, text, fontsize=size, family=family,
                              weight=weight, color=color, va="top", ha="left",
                              parse_math=False)

    def _rule(self, y: float, color: str = "0.75", width: float = 0.4) -> None:
        from matplotlib.lines import Line2D

        fig = self.figures[-1]
        fig.add_artist(Line2D([MARGIN / PAGE_W, (PAGE_W - MARGIN) / PAGE_W],
                              [y / PAGE_H, y / PAGE_H], color=color, linewidth=width,
                              transform=fig.transFigure))

    def _room(self, height: float) -> bool:
        return self.y - height >= MARGIN

    def space(self, points: float) -> None:
        self.y -= points

    def wrap(self, text: str, width: float, font) -> list[str]:
        """Greedy word wrap by measured width; a word wider than the line is cut."""
        lines: list[str] = []
        for paragraph in str(text).replace("\r\n", "\n").split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if self._width(candidate, font) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                line = word
                while self._width(line, font) > width and len(line) > 1:
                    cut = self._fit(line, width, font)
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line)
        return lines

    _BREAK_AFTER = "/_-.,:=;"  # where a path or identifier too long for its cell may break

    def _fit(self, text: str, width: float, font) -> int:
        """Length of the longest prefix that fits, ending after a break character when
        one lies in its second half (a path breaks at "/", not mid-name)."""
        cut = len(text) - 1
        while cut > 1 and self._width(text[:cut], font) > width:
            cut -= 1
        tidy = max(text.rfind(c, 0, cut) for c in self._BREAK_AFTER) + 1
        return tidy if tidy > cut // 2 else cut

    def _width(self, text: str, font) -> float:
        return self._measure(text, font, ismath=False)[0] if text else 0.0

    # -- blocks

    def text(self, text: str, size: float = 9, family: str = SANS, weight: str = "normal",
             indent: float = 0.0) -> None:
        font = self._font(size, family, weight)
        for line in self.wrap(text, TEXT_W - indent, font):
            if not self._room(size * LEADING):
                self.new_page()
            self._put(MARGIN + indent, line, size, family, weight)
            self.y -= size * LEADING

    def heading(self, text: str, size: float = 12) -> None:
        # Keep a heading with at least a few lines of what follows it.
        if not self._room(size * LEADING + 6 * TABLE_SIZE * LEADING):
            self.new_page()
        self.space(size * 0.5)
        self.text(text, size, weight="bold")
        self.space(size * 0.25)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]],
              fractions: tuple[float, ...], size: float = TABLE_SIZE,
              verdict_column: int | None = None, bold_lead: tuple[int, ...] = ()) -> None:
        """Every cell wrapped to its column; a row that does not fit moves to a new page
        (with the header repeated), and one taller than a page is split. The verdict column,
        if any, is coloured so a page of claims reads at a glance: only the cell's first line,
        the verdict, as what follows it (the reason) is plain text. In the bold_lead columns
        a cell's first line (a claim id) is bold."""
        widths = [f * TEXT_W for f in fractions]
        xs = [MARGIN + sum(widths[:i]) for i in range(len(widths))]
        line_h = size * LEADING
        font, bold = self._font(size), self._font(size, weight="bold")
        head = self._cells(header, widths, bold)
        self._table_header(head, xs, size)
        for row in rows:
            cells, styles = [], []
            for j, (cell, width) in enumerate(zip(row, widths)):
                lead, newline, rest = str(cell).partition("\n")
                if j not in bold_lead and j != verdict_column:
                    lead, newline, rest = str(cell), "", ""
                weight = "bold" if j in bold_lead else "normal"
                color = VERDICT_COLORS.get(lead, "black") if j == verdict_column else "black"
                lead_lines = self.wrap(lead, width - 2 * CELL_PAD, bold if j in bold_lead else font)
                rest_lines = self.wrap(rest, width - 2 * CELL_PAD, font) if newline else []
                cells.append(lead_lines + rest_lines)
                styles.append([(color, weight)] * len(lead_lines)
                              + [("black", "normal")] * len(rest_lines))
            n_lines = max(len(c) for c in cells)
            for cell, style in zip(cells, styles):
                cell += [""] * (n_lines - len(cell))
                style += [("black", "normal")] * (n_lines - len(style))
            fits_a_page = (n_lines + len(head[0])) * line_h + 4 * CELL_PAD < PAGE_H - 2 * MARGIN
            if not self._room(n_lines * line_h + CELL_PAD) and fits_a_page:
                self.new_page()
                self._table_header(head, xs, size)
            start = 0
            while start < n_lines:
                room = int((self.y - MARGIN - CELL_PAD) // line_h)
                if room < 1:
                    self.new_page()
                    self._table_header(head, xs, size)
                    continue
                chunk = range(start, min(n_lines, start + room))
                self._row_lines(cells, xs, chunk, size, styles=styles)
                start = chunk.stop
            self.y -= CELL_PAD
            self._rule(self.y + CELL_PAD / 2)

    def _cells(self, row: tuple[str, ...], widths: list[float], font) -> list[list[str]]:
        lines = [self.wrap(str(cell), w - 2 * CELL_PAD, font) for cell, w in zip(row, widths)]
        n = max(len(c) for c in lines)
        return [c + [""] * (n - len(c)) for c in lines]

    def _table_header(self, head: list[list[str]], xs: list[float], size: float) -> None:
        if not self._room((len(head[0]) + 2) * size * LEADING + 2 * CELL_PAD):
            self.new_page()
        self._row_lines(head, xs, range(len(head[0])), size, weight="bold")
        self.y -= CELL_PAD
        self._rule(self.y + CELL_PAD / 2, color="0.3", width=0.6)

    def _row_lines(self, cells: list[list[str]], xs: list[float], lines: range, size: float,
                   weight: str = "normal",
                   styles: list[list[tuple[str, str]]] | None = None) -> None:
        """The given lines of a row; styles, if any, are (colour, weight) per cell and line."""
        for i in lines:
            for j, (x, cell) in enumerate(zip(xs, cells)):
                if cell[i]:
                    color, line_weight = styles[j][i] if styles else ("black", weight)
                    self._put(x + CELL_PAD, cell[i], size, weight=line_weight, color=color)
            self.y -= size * LEADING

    def columns(self, text: str, size: float = CONFIG_SIZE, n_columns: int = 2) -> None:
        """Monospace text (a YAML config) flowing down n columns, then onto the next page;
        long lines wrap under their own indentation."""
        gap = 14.0
        col_w = (TEXT_W - gap * (n_columns - 1)) / n_columns
        char_w = self._width("M" * 10, self._font(size, MONO)) / 10
        chars = max(int(col_w // char_w), 8)
        lines = []
        for raw in text.expandtabs(2).splitlines():
            indent = " " * (len(raw) - len(raw.lstrip(" ")) + 4)
            lines += textwrap.wrap(raw, chars, subsequent_indent=indent,
                                   break_on_hyphens=False) or [""]
        line_h = size * LEADING
        top, column, lowest = self.y, 0, self.y
        for line in lines:
            if not self._room(line_h):
                column += 1
                if column == n_columns:
                    self.new_page()
                    column, top, lowest = 0, self.y, self.y
                self.y = top
            self._put(MARGIN + column * (col_w + gap), line, size, MONO)
            self.y -= line_h
            lowest = min(lowest, self.y)
        self.y = lowest

    def to_pdf_bytes(self) -> bytes:
        from matplotlib.backends.backend_pdf import PdfPages

        buffer = io.BytesIO()
        # Type 3 fonts (matplotlib's default) stay searchable and are subset in a fraction of
        # the time fontTools needs for Type 42 (seconds per report on a laptop).
        with self._plt.rc_context({"pdf.fonttype": 3}), PdfPages(buffer) as pdf:
            for fig in self.figures:
                pdf.savefig(fig)
                self._plt.close(fig)
        self.figures = []
        return buffer.getvalue()


CLAIMS_FRACTIONS = (0.12, 0.24, 0.50, 0.14)  # the overview's compact table (CLAIMS_HEADER)
# An experiment's own claims table: the paper's words, the rule and the measurement side by
# side, the widest column for the quote, which runs to a few sentences.
CLAIM_DETAIL_HEADER = ("claim", "verdict", "paper's words", "rule", "measured")
CLAIM_DETAIL_FRACTIONS = (0.16, 0.15, 0.27, 0.20, 0.22)
TIME_FRACTIONS = (0.11, 0.33, 0.06, 0.10, 0.09, 0.05, 0.11, 0.15)


def _lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def claim_detail_rows(claims: list[dict]) -> list[tuple[str, ...]]:
    """One row per claim: id (bold) and claim; verdict (bold, coloured) then reason; quote;
    rule; what was measured, then the paper's value and the source."""
    return [(_lines(c["claim_id"], c["claim"]), _lines(c["verdict"], c["reason"]),
             c["paper_quote"], c["rule"],
             _lines(c["measured_value"], f"paper: {c['paper_value']}" if c["paper_value"] else "",
                    f"source: {c['source']}" if c["source"] else ""))
            for c in claims]


def overview_pages(results_dir: Path, experiments: list[Experiment], claims: list[dict],
                   timings: dict | None, built: str) -> bytes:
    pages = _TextPages("overview")
    pages.text("wgan-repro report", 18, weight="bold")
    pages.space(4)
    pages.text(f"Built {built} from {results_dir}. The report only reads files: nothing was "
               "trained or re-run.", 9)
    present = [e.name for e in experiments if e.present]
    absent = [f"{e.name} (run wgan-repro {VERBS[e.name]})" for e in experiments
              if not e.present]
    pages.text(f"Run: {', '.join(present) or 'none'}.", 9)
    pages.text(f"Not run: {', '.join(absent) or 'none'}.", 9)

    pages.heading("Environment")
    recorded = recorded_environments(experiments)
    if recorded:
        pages.text("Recorded with the results (timings.csv):", 8)
        pages.table(("experiment", "Python", "torch", "device"), recorded,
                    (0.15, 0.15, 0.25, 0.45))
    else:
        pages.text("Recorded with the results: not recorded (no timings.csv).", 8)
    pages.space(4)
    pages.text("This machine, which built the report: " + "; ".join(
        f"{name} {version}" for name, version in machine_versions()) + ".", 8)

    pages.heading(f"Claims: {verdict_counts(claims)}")
    if claims:
        pages.table(CLAIMS_HEADER, claims_rows(claims), CLAIMS_FRACTIONS, verdict_column=3)
    else:
        pages.text("No claims recorded.", 8)

    pages.heading("Time")
    if timings is None:
        pages.text("Time not recorded: there is no timings.csv (results made before timings "
                   "were recorded).", 8)
    else:
        pages.table(TIME_HEADER, time_rows(experiments), TIME_FRACTIONS)
        pages.space(3)
        pages.text(f"Total wall time: {total_time(experiments)}.", 8)
    return pages.to_pdf_bytes()


def experiment_pages(experiment: Experiment) -> bytes:
    """The text page(s) put before an experiment's figures: command, time, verdicts, config."""
    pages = _TextPages(experiment.name)
    pages.text(experiment.name, 16, weight="bold")
    pages.text(TITLES[experiment.name], 9)
    pages.space(6)
    timing = experiment.timing or {}
    text, note = command(experiment)
    pages.text(f"Command: {text}{note}", 8, MONO)
    if experiment.timing:
        pages.text(f"Tier {timing.get('tier') or '?'} · launcher {timing.get('launcher') or '?'}"
                   f" · seeds {timing.get('seeds') or '?'} · {timing.get('jobs') or '?'} jobs", 8)
        pages.text(f"Time: {wall_time(experiment.timing)}, finished {finished(timing)}, on "
                   f"{timing.get('device') or '?'} (Python {timing.get('python_version') or '?'},"
                   f" torch {timing.get('torch_version') or '?'})", 8)
    else:
        pages.text("Time not recorded.", 8)

    pages.heading(f"Claims: {verdict_counts(experiment.claims)}", 10)
    if experiment.claims:
        pages.table(CLAIM_DETAIL_HEADER, claim_detail_rows(experiment.claims),
                    CLAIM_DETAIL_FRACTIONS, verdict_column=1, bold_lead=(0, 1))

    pages.heading("Figures", 10)
    for figure in experiment.figures:
        note = f": {figure.error}" if figure.error else \
            f", {len(figure.pngs)} page{'s' if len(figure.pngs) != 1 else ''}, follows"
        pages.text(f"{figure.pdf.as_posix()}{note}", 8)
    if not experiment.figures:
        pages.text("No figures.", 8)

    pages.heading(f"Config ({experiment.config.as_posix()})", 10)
    if experiment.config_text is None:
        pages.text("Config not recorded.", 8)
    else:
        pages.columns(experiment.config_text)
    return pages.to_pdf_bytes()


def write_pdf(path: Path, results_dir: Path, experiments: list[Experiment],
              claims: list[dict], timings: dict | None, built: str) -> int:
    """report.pdf: overview, then per experiment its text page(s) and its figures' own pages
    (imported as they are, so they stay vector). Returns the page count."""
    import pypdfium2 as pdfium

    parts: list = [overview_pages(results_dir, experiments, claims, timings, built)]
    for experiment in experiments:
        if experiment.present:
            parts.append(experiment_pages(experiment))
            parts += [results_dir / f.pdf for f in experiment.figures if not f.error]
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


# ------------------------------------------------------------------------------- entry point


def build_report(results_dir: Path) -> dict:
    """Build REPORT.md, report_figures/*.png and report.pdf from the files under results_dir.

    Returns {"markdown", "pdf", "figures" (PNG paths), "experiments" (names present),
    "claims" (row count), "pdf_pages"}. Raises ResultsError when there is nothing to report.
    """
    results_dir = Path(results_dir)
    claims = read_claims(results_dir)
    timings = read_timings(results_dir)
    experiments = [read_experiment(results_dir, name, claims, timings) for name in EXPERIMENTS]
    if not claims and not any(e.present for e in experiments):
        raise _no_results(results_dir, "claims.csv has no rows and no experiment has figures")

    pngs = render_figures(results_dir, experiments)
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    markdown = results_dir / "REPORT.md"
    write_text(markdown, markdown_report(results_dir, experiments, claims, timings, built))
    pdf = results_dir / "report.pdf"
    n_pages = write_pdf(pdf, results_dir, experiments, claims, timings, built)
    return {"markdown": markdown, "pdf": pdf, "figures": [results_dir / p for p in pngs],
            "experiments": [e.name for e in experiments if e.present],
            "claims": len(claims), "pdf_pages": n_pages}
