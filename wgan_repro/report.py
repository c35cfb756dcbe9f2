"""`wgan-repro report`: one Markdown and one PDF report of everything under a results folder.

It only reads files (claims.csv, timings.csv, each experiment's figure PDFs and config.yaml):
nothing is trained or re-run, and torch is never imported, so a report of a paper-scale run
can be built on any laptop that holds its results folder.

Outputs, all inside the results folder so it can be committed and read as is on GitHub:
REPORT.md (relative links only), report_figures/*.png (every figure page, for REPORT.md) and
report.pdf (text pages, then the figure PDFs' own pages, still vector). The report is built
once as data (``document``: sections of headings, paragraphs, tables, figures; the types are
in report_blocks.py) and rendered by report_markdown.py and report_pdf.py.
"""

from __future__ import annotations

import dataclasses
import platform
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from wgan_repro import registry
from wgan_repro import report_blocks as doc
from wgan_repro.errors import ResultsError
from wgan_repro.results import (
    CLAIMS_COLUMNS,
    TIMINGS_COLUMNS,
    VERDICTS,
    write_text,
    write_with,
)

FIGURES_DIR = "report_figures"
PNG_MAX_WIDTH = 1400  # px: axis labels stay readable on GitHub, files stay small
PNG_MAX_SCALE = 3.0  # px per PDF point, for small figures
MACHINE_PACKAGES = ("torch", "torchvision", "hydra-core", "numpy", "pandas", "matplotlib",
                    "pypdfium2", "reportlab")


@dataclass
class ExperimentFiles:
    name: str
    claims: list[dict]
    timing: dict | None
    figures: list[doc.Figure]  # their pages as PNGs once render_figures has run
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


def figure_pdfs(results_dir: Path, name: str) -> list[Path]:
    """The experiment's figure PDFs, relative to the results folder, sorted by name; only
    those directly inside its folder (run subfolders hold per-run material, not figures)."""
    folder = registry.get(name).folder
    pdfs = sorted(p for p in (results_dir / folder).glob("*.pdf") if p.is_file())
    return [p.relative_to(results_dir) for p in pdfs]


def read_experiment(results_dir: Path, name: str, claims: list[dict],
                    timings: dict[str, dict] | None) -> ExperimentFiles:
    row = registry.get(name)
    config = Path(row.folder) / row.config_file
    config_file = results_dir / config
    return ExperimentFiles(
        name=name,
        claims=[c for c in claims if c["experiment"] == name],
        timing=(timings or {}).get(name),
        figures=[doc.Figure(name, pdf) for pdf in figure_pdfs(results_dir, name)],
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


def render_figure(results_dir: Path, figure: doc.Figure) -> doc.Figure:
    """The figure with every page of its PDF rendered to report_figures/ as PNG; a PDF pdfium
    cannot open comes back with the error, to be reported, not fatal."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(results_dir / figure.pdf)
    except pdfium.PdfiumError as err:
        return dataclasses.replace(figure, error=f"could not be read ({err})")
    pngs = []
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            width_pt = page.get_width()
            scale = min(PNG_MAX_WIDTH / width_pt, PNG_MAX_SCALE) if width_pt > 0 else 1.0
            png = Path(FIGURES_DIR) / png_name(figure.experiment, figure.pdf, index + 1)
            _save_png(page.render(scale=scale).to_pil(), results_dir / png)
            pngs.append(png)
    finally:
        pdf.close()
    return dataclasses.replace(figure, pngs=tuple(pngs))


def remove_stale_pngs(results_dir: Path, keep: set[Path]) -> None:
    """PNGs of figures that are gone (renamed, removed experiment) must not linger in a
    committed report folder."""
    folder = results_dir / FIGURES_DIR
    if not folder.is_dir():
        return
    for png in folder.glob("*.png"):
        if png.relative_to(results_dir) not in keep:
            png.unlink()


def render_figures(results_dir: Path, experiments: list[ExperimentFiles],
                   overview_figures: list[doc.Figure]) -> tuple[list[Path], list[doc.Figure]]:
    """Every figure's pages as PNGs: the overview's (claims.pdf) and each experiment's."""
    overview_figures = [render_figure(results_dir, f) for f in overview_figures]
    for experiment in experiments:
        experiment.figures = [render_figure(results_dir, f) for f in experiment.figures]
    pngs = [png for f in overview_figures for png in f.pngs]
    pngs += [png for e in experiments for f in e.figures for png in f.pngs]
    remove_stale_pngs(results_dir, set(pngs))
    return pngs, overview_figures


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


def command(experiment: ExperimentFiles) -> tuple[str, str]:
    """The command that made the results and a note; without a record, the verb's usual
    command, saying so."""
    recorded = (experiment.timing or {}).get("command", "")
    if recorded:
        return recorded, ""
    return (f"wgan-repro {registry.get(experiment.name).verb}",
            " (usual command; not recorded)")


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


def recorded_environments(experiments: list[ExperimentFiles]) -> list[tuple[str, ...]]:
    """Per experiment with a timing: Python, torch, device, CPU and precision ("?" where a
    timings.csv of an older version did not record them)."""
    keys = ("python_version", "torch_version", "device", "cpu_model", "precision")
    return [(e.name, *(e.timing.get(k) or "?" for k in keys)) for e in experiments if e.timing]


TIME_HEADER = ("experiment", "command", "tier", "launcher", "seeds", "jobs", "wall time",
               "finished")


def time_rows(experiments: list[ExperimentFiles]) -> list[tuple[str, ...]]:
    rows = []
    for e in experiments:
        if not e.present:
            continue
        t = e.timing or {}
        rows.append((e.name, t.get("command") or "not recorded", t.get("tier", ""),
                     t.get("launcher", ""), t.get("seeds", ""), t.get("jobs", ""),
                     wall_time(e.timing), finished(e.timing) if e.timing else ""))
    return rows


def total_time(experiments: list[ExperimentFiles]) -> str:
    seconds = [_seconds(e.timing) for e in experiments if e.present]
    known = [s for s in seconds if s is not None]
    if not known:
        return "not recorded"
    missing = len(seconds) - len(known)
    return human_duration(sum(known)) + (f" (+ {missing} not recorded)" if missing else "")


# ------------------------------------------------------------------------- the document


CLAIMS_HEADER = ("experiment", "claim id", "claim", "verdict")
CLAIMS_WIDTHS = (0.12, 0.24, 0.50, 0.14)  # the overview's compact table, PDF fractions
TIME_WIDTHS = (0.11, 0.33, 0.06, 0.10, 0.09, 0.05, 0.11, 0.15)


def _cells(*values: str) -> tuple[doc.Text, ...]:
    return tuple((str(v),) for v in values)


def _slug(text: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def claim_anchors(experiments: list[ExperimentFiles]) -> dict[int, str]:
    """id(claim row) -> the anchor of its block, in the order the blocks appear; a repeated
    heading gets GitHub's -1, -2 suffix. The "Claim " prefix keeps these apart from every
    other heading of the report. A claim of no known experiment has no block, so no anchor."""
    seen: dict[str, int] = {}
    anchors = {}
    for claim in (c for e in experiments for c in e.claims):
        slug = _slug(f"Claim {claim['claim_id']}".strip())
        anchors[id(claim)] = f"{slug}-{seen[slug]}" if slug in seen else slug
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def claims_overview(claims: list[dict], anchors: dict[int, str]) -> doc.Table:
    """Every claim in a line; quote, rule and measurement are in the experiment's section,
    one block per claim, where long quotes have room."""
    rows = []
    for claim in claims:
        claim_id: doc.Inline = claim["claim_id"]
        if claim["claim_id"] and id(claim) in anchors:  # an empty link would not show
            claim_id = doc.Link(claim["claim_id"], f"#{anchors[id(claim)]}")
        rows.append(((claim["experiment"],), (claim_id,), (claim["claim"],),
                     (doc.Verdict(claim["verdict"], emphasis=False),)))
    return doc.Table(CLAIMS_HEADER, tuple(rows), CLAIMS_WIDTHS)


def environment(experiments: list[ExperimentFiles]) -> list[doc.Block]:
    recorded = recorded_environments(experiments)
    blocks: list[doc.Block] = [
        doc.Heading(2, ("Environment",)),
        doc.para("Recorded with the results (timings.csv):" if recorded else
                 "Recorded with the results: not recorded (no timings.csv).")]
    if recorded:
        blocks.append(doc.Table(("experiment", "Python", "torch", "device", "CPU", "precision"),
                                tuple(_cells(*row) for row in recorded),
                                (0.14, 0.1, 0.12, 0.12, 0.4, 0.12)))
    return [*blocks, doc.para("This machine, which built the report:"),
            doc.Table(("package", "version"), tuple(_cells(*r) for r in machine_versions()),
                      (0.25, 0.75))]


def time_blocks(experiments: list[ExperimentFiles], timings: dict | None) -> list[doc.Block]:
    heading = doc.Heading(2, ("Time",))
    if timings is None:
        return [heading, doc.para("Time not recorded: there is no timings.csv (results made "
                                  "before timings were recorded).")]
    return [heading, doc.Table(TIME_HEADER, tuple(_cells(*r) for r in time_rows(experiments)),
                               TIME_WIDTHS),
            doc.para(f"Total wall time: {total_time(experiments)}.")]


def overview(results_dir: Path, experiments: list[ExperimentFiles], claims: list[dict],
             timings: dict | None, built: str, figures: list[doc.Figure]) -> doc.Section:
    present = [e.name for e in experiments if e.present]
    absent = [e.name for e in experiments if not e.present]
    contents: list[doc.Inline] = []
    for e in experiments:
        contents += [", "] if contents else []
        contents.append(doc.Link(e.name, f"#{e.name}"))
    return doc.Section("overview", [
        doc.Heading(1, ("wgan-repro report",)),
        doc.para(f"Built {built} from ", doc.Code(str(results_dir)), " by wgan-repro report, "
                 "which only reads files: nothing was trained or re-run."),
        doc.para("Experiments: ", *contents, f". Run: {', '.join(present) or 'none'}; "
                 f"not run: {', '.join(absent) or 'none'}."),
        *environment(experiments),
        doc.Heading(2, ("Claims",)),
        doc.para(f"{len(claims)} claims: {verdict_counts(claims)}."),
        claims_overview(claims, claim_anchors(experiments)) if claims else
        doc.para("No claims recorded."),
        *([doc.para("Every claim on every seed (claims.pdf, from claims_seeds.csv):"), *figures]
          if figures else []),
        *time_blocks(experiments, timings)])


def claim_blocks(claim: dict) -> list[doc.Block]:
    """One claim: its id as a heading (the overview links here), the verdict and why, the
    paper's words, the rule they were judged by, and what was measured against the paper."""
    blocks: list[doc.Block] = [doc.Heading(4, doc.text(
        "Claim", *((" ", doc.Code(claim["claim_id"])) if claim["claim_id"] else ())))]
    if claim["claim"]:
        blocks.append(doc.para(doc.Emph(claim["claim"])))
    blocks.append(doc.para(doc.Verdict(claim["verdict"]),
                           *((": ", claim["reason"]) if claim["reason"] else ())))
    if claim["paper_quote"]:
        blocks.append(doc.Quote(claim["paper_quote"]))
    blocks.append(doc.Paragraph(tuple(doc.text(f"{label}: ", claim[key]) for label, key in (
        ("Rule", "rule"), ("Measured", "measured_value"), ("Paper", "paper_value"),
        ("Source", "source")))))
    return blocks


def experiment_section(experiment: ExperimentFiles) -> doc.Section:
    name, row = experiment.name, registry.get(experiment.name)
    section = doc.Section(name, [doc.Heading(2, (name,)), doc.para(doc.Emph(row.title))])
    if not experiment.present:
        section.blocks.append(doc.para("Not run (run ", doc.Code(f"wgan-repro {row.verb}"),
                                       ")."))
        section.in_pdf = False
        return section
    timing = experiment.timing or {}
    text, note = command(experiment)
    time_line = doc.text(f"Time: {wall_time(experiment.timing)}",
                         f", finished {finished(timing)} on {timing.get('device') or '?'}"
                         if experiment.timing else "")
    section.blocks += [doc.Paragraph((doc.text("Command: ", doc.Code(text), note), time_line)),
                       doc.Heading(3, (f"Claims: {verdict_counts(experiment.claims)}",))]
    # Each claim is a heading of its own (the overview links to it), and the figures must not
    # read as part of the last claim: claims, figures and config each under a heading.
    section.blocks += [b for claim in experiment.claims for b in claim_blocks(claim)] or \
        [doc.para("No claims recorded.")]
    section.blocks.append(doc.Heading(3, ("Figures",)))
    section.blocks += experiment.figures or \
        [doc.para("No figures.")]
    section.blocks += [doc.Heading(3, ("Config",)),
                       doc.Config(experiment.config, experiment.config_text)]
    return section


def document(results_dir: Path, experiments: list[ExperimentFiles], claims: list[dict],
             timings: dict | None, built: str, figures: list[doc.Figure] = ()
             ) -> list[doc.Section]:
    """The whole report as data, which REPORT.md and report.pdf both render; ``figures`` are
    the overview's (claims.pdf), the report's first figure."""
    return [overview(results_dir, experiments, claims, timings, built, list(figures)),
            *(experiment_section(e) for e in experiments)]


# ------------------------------------------------------------------------------- entry point


def build_report(results_dir: Path) -> dict:
    """Build REPORT.md, report_figures/*.png and report.pdf from the files under results_dir.

    Returns {"markdown", "pdf", "figures" (PNG paths), "experiments" (names present),
    "claims" (row count), "pdf_pages"}. Raises ResultsError when there is nothing to report.
    """
    from wgan_repro import report_markdown, report_pdf

    results_dir = Path(results_dir)
    claims = read_claims(results_dir)
    timings = read_timings(results_dir)
    experiments = [read_experiment(results_dir, name, claims, timings) for name in registry.EXPERIMENTS]
    if not claims and not any(e.present for e in experiments):
        raise _no_results(results_dir, "claims.csv has no rows and no experiment has figures")

    from wgan_repro.plots import claims as claims_figure

    drawn = claims_figure.draw(results_dir)  # every claim on every seed, from the CSVs
    overview_figures = [doc.Figure("claims", drawn.relative_to(results_dir))] if drawn else []
    pngs, overview_figures = render_figures(results_dir, experiments, overview_figures)
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = document(results_dir, experiments, claims, timings, built, overview_figures)
    markdown = results_dir / "REPORT.md"
    write_text(markdown, report_markdown.render(sections))
    pdf = results_dir / "report.pdf"
    n_pages = report_pdf.write(pdf, results_dir, sections)
    return {"markdown": markdown, "pdf": pdf, "figures": [results_dir / p for p in pngs],
            "experiments": [e.name for e in experiments if e.present],
            "claims": len(claims), "pdf_pages": n_pages}
