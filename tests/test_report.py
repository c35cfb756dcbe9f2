"""`wgan-repro report` on a fake results folder: it only reads files, and what it writes says
exactly what the files hold."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from wgan_repro.errors import ResultsError
from wgan_repro.report import build_report
from wgan_repro.results import CLAIMS_COLUMNS, update_claims, update_timings

# (experiment, claim_id, claim, paper_quote, rule, paper_value, measured_value, verdict, reason,
# source), as in CLAIMS_COLUMNS; the text is made to trip escaping in Markdown and the PDF.
CLAIMS = [
    ("fig2", "p1_fig2_vanishing", 'the original cost\'s gradient vanishes, "fast" (P1 Fig. 2)',
     "gradients vanish (P1 Fig. 2)", "falls 10x by iter 4000",
     "falls >= 1 order | in 4000 iterations", "epoch 1: 2.42, epoch 20: 2.13\nsecond line",
     "reproduced", "", "fig2/grad_norms.csv (tier cpu, seeds 0,1)"),
    ("fig2", "p1_fig3_logd", "the -log D gradient does not vanish: a*b `code` <b>bold?</b> "
     "back\\slash \\|",
     "# 1. the -log D cost *does not* vanish | its variance grows\n> second line of the quote",
     "median norm at 4000 > 1e-3 * | at 0 |", "1e-3", "", "not reproduced",
     "the norm fell 4 orders like the original cost's", "fig2/grad_norms.csv"),
    ("probe_adam", "p2_4_2_cosine", "Adam's step cosine turns negative; $x$ is text",
     "the cosine between the Adam step and the gradient usually turned negative (P2 §4.2), a "
     "longer sentence that the PDF has to wrap over several lines of its narrow column",
     "negative in > 50% of steps near a blow-up", "0.5", "0.11% of 4375", "inconclusive",
     "too few blow-ups (2) to tell", "probe_adam/adam_cosine.csv"),
    ("probe_adam", "p2_4_2_blowups", "Adam blows up more often than RMSProp", "Adam blows up",
     "more blow-ups with Adam", "yes", "32 vs 32", "reproduced", "", "probe_adam/adam_cosine.csv"),
]
OLD_CLAIMS_COLUMNS = ("experiment", "claim", "paper_value", "measured_value", "verdict", "source")
CONFIG_LINES = [f"key_{i:03d}: value {i}" for i in range(160)]  # long: 2 pages of columns


def _figure_pdf(path: Path, labels: list[str]) -> None:
    """A small matplotlib PDF with one page per label; each page's text names it."""
    from matplotlib.backends.backend_pdf import PdfPages

    from wgan_repro.plots.style import pyplot

    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for label in labels:
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.plot([0, 1, 2], [1, 0.1, 0.01])
            ax.set_title(label)
            pdf.savefig(fig)
            plt.close(fig)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """fig2 (two figures, one of two pages, a long config) and probe_adam (one figure) run;
    curve, ablate, toy and probe_noise not."""
    root = tmp_path_factory.mktemp("template") / "results"
    for experiment in ("fig2", "probe_adam"):
        rows = [dict(zip(CLAIMS_COLUMNS[1:], c[1:])) for c in CLAIMS if c[0] == experiment]
        update_claims(root, experiment, rows)
    update_timings(root, {
        "experiment": "fig2", "command": "wgan-repro fig2 --epochs 1,20,25", "tier": "cpu",
        "launcher": "basic", "seeds": "0,1", "jobs": "6", "finished_utc": "2024-11-24T22:48:00",
        "wall_s": "312.4", "python_version": "3.11.9", "torch_version": "2.5.1",
        "device": "cpu"})
    _figure_pdf(root / "fig2" / "fig1_a.pdf", ["FIGURE fig1_a page 1", "FIGURE fig1_a page 2"])
    _figure_pdf(root / "fig2" / "fig3_b.pdf", ["FIGURE fig3_b page 1"])
    _figure_pdf(root / "fig2" / "runs" / "x" / "not_a_figure.pdf", ["FIGURE run subfolder"])
    (root / "fig2" / "config.yaml").write_text("\n".join(CONFIG_LINES) + "\n")
    _figure_pdf(root / "probe_adam" / "adam_cosine.pdf", ["FIGURE adam_cosine page 1"])
    (root / "probe_adam" / "config.yaml").write_text("probe:\n  arms: [adam, rmsprop]\n")
    return root


@pytest.fixture(scope="module")
def built(template, tmp_path_factory) -> tuple[Path, dict]:
    """One report, built once, that the read-only checks share; built with training replaced
    by a function that fails the test, since a report must only read files."""
    import wgan_repro.train

    def refuse(*args, **kwargs):
        raise AssertionError("the report must not train")

    root = Path(shutil.copytree(template, tmp_path_factory.mktemp("built") / "results"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wgan_repro.train, "train", refuse)
        return root, build_report(root)


@pytest.fixture
def rebuilt(built, tmp_path) -> Path:
    """A copy of the built folder, outputs included, to build again."""
    return Path(shutil.copytree(built[0], tmp_path / "results"))


# ------------------------------------------------------------------- Markdown table parsing


def _split_row(line: str) -> list[str]:
    """Cells of a Markdown table row, split on unescaped pipes (escapes kept)."""
    cells, cell, chars = [], "", iter(line.strip()[1:-1])
    for char in chars:
        if char == "\\":
            cell += char + next(chars)
        elif char == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += char
    return [c.strip() for c in [*cells, cell]]


def _unescape(cell: str) -> str:
    out, i = "", 0
    while i < len(cell):
        if cell[i] == "\\":
            out, i = out + cell[i + 1], i + 2
        elif cell.startswith("<br>", i):
            out, i = out + "\n", i + 4
        else:
            out, i = out + cell[i], i + 1
    return out


_LINK = re.compile(r"^\[(.*)\]\(#([^)]*)\)$")


def _markdown_table(markdown: str, header_start: str,
                    anchors: list[str] | None = None) -> list[list[str]]:
    """The table's cells as plain text; a cell that is a link to an anchor reads as its text,
    and the anchor is appended to anchors when given."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        row = []
        for cell in _split_row(line):
            link = _LINK.match(cell)
            if link and anchors is not None:
                anchors.append(link.group(2))
            row.append(_unescape(link.group(1) if link else cell))
        rows.append(row)
    return rows


def _section(markdown: str, experiment: str) -> str:
    return markdown.split(f"\n## {experiment}\n", 1)[1].split("\n## ", 1)[0]


def _claim_blocks(section: str) -> dict[str, dict[str, str]]:
    """claim id -> the fields of its block in an experiment's section, unescaped."""
    blocks = {}
    for block in section.split("\n#### Claim `")[1:]:
        claim_id, body = block.split("`\n", 1)
        lines = body.split("\n### ", 1)[0].strip().splitlines()
        fields = {"claim": _unescape(lines[0].strip("*")), "verdict_line": _unescape(lines[2]),
                  "quote": "\n".join(_unescape(line[2:]) for line in lines
                                     if line.startswith("> "))}
        for line in lines:
            key, _, value = line.partition(": ")
            if key in ("Rule", "Measured", "Paper", "Source"):
                fields[key.lower()] = _unescape(value.rstrip())
        blocks[claim_id] = fields
    return blocks


def _assert_claims_in_markdown(markdown: str, claims: pd.DataFrame) -> None:
    """The overview lists every claim in file order, linking to its block; the block, in
    its experiment's section, holds verdict and reason, quote, rule, measured, paper, source."""
    anchors: list[str] = []
    table = _markdown_table(markdown, "| experiment | claim id | claim | verdict |", anchors)
    assert table == claims[["experiment", "claim_id", "claim", "verdict"]].values.tolist()
    assert anchors == [f"claim-{c}" for c in claims["claim_id"]]
    for experiment, rows in claims.groupby("experiment", sort=False):
        blocks = _claim_blocks(_section(markdown, experiment))
        assert list(blocks) == rows["claim_id"].tolist()  # file order
        for row in rows.to_dict("records"):
            block = blocks[row["claim_id"]]
            verdict = f"**{row['verdict']}**" + (f": {row['reason']}" if row["reason"] else "")
            assert block == {"claim": row["claim"], "verdict_line": verdict,
                             "quote": row["paper_quote"], "rule": row["rule"],
                             "measured": row["measured_value"], "paper": row["paper_value"],
                             "source": row["source"]}


def _page_texts(pdf: Path) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


# --------------------------------------------------------------------------------- tests


def test_claims_in_markdown_equal_claims_csv(built):
    root, _ = built
    expected = pd.read_csv(root / "claims.csv", keep_default_na=False, dtype=str)
    assert len(expected) == len(CLAIMS)
    assert expected.values.tolist() == [list(c) for c in CLAIMS]  # the tricky text survives CSV
    markdown = (root / "REPORT.md").read_text()
    _assert_claims_in_markdown(markdown, expected)
    # Escaped where it counts: the quote that starts like a heading and a list stays a quote.
    assert "\n> \\# 1. the -log D cost \\*does not\\* vanish \\| its variance grows\n" \
           "> \\> second line of the quote\n" in markdown
    assert "\n# 1." not in markdown


def test_verdict_counts_and_sections(built):
    root, result = built
    markdown = (root / "REPORT.md").read_text()
    assert "4 claims: 2 reproduced, 1 not reproduced, 1 inconclusive." in markdown
    assert result["claims"] == 4
    assert result["experiments"] == ["fig2", "probe_adam"]
    order = [markdown.index(f"\n## {name}\n") for name in
             ("fig2", "curve", "ablate", "toy", "probe_adam", "probe_noise")]
    assert order == sorted(order)
    for name, verb in [("curve", "curve"), ("ablate", "ablate --all"), ("toy", "toy"),
                       ("probe_noise", "probe noise")]:
        section = markdown.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Not run (run `wgan-repro {verb}`)." in section
    assert "| fig2 | wgan-repro fig2 --epochs 1,20,25 | cpu | basic | 0,1 | 6 | 5 min 12 s | " \
           "2024-11-24 22:48 UTC |" in markdown
    probe = markdown.split("\n## probe_adam\n", 1)[1]
    assert ("Command: `wgan-repro probe adam` (usual command; not recorded)  \n"
            "Time: not recorded\n") in probe
    assert "```yaml\nprobe:\n  arms: [adam, rmsprop]\n```" in probe
    assert "[PDF](probe_adam/adam_cosine.pdf)" in probe


def test_every_figure_page_rendered_to_png(built):
    from PIL import Image

    root, result = built
    names = ["fig2__fig1_a_p1.png", "fig2__fig1_a_p2.png", "fig2__fig3_b_p1.png",
             "probe_adam__adam_cosine_p1.png"]
    assert [p.name for p in result["figures"]] == names
    markdown = (root / "REPORT.md").read_text()
    for png in result["figures"]:
        assert png.parent == root / "report_figures"
        assert 2_000 < png.stat().st_size < 300_000
        with Image.open(png) as image:
            assert 400 <= image.width <= 1400 and image.height > 200
        assert f"](report_figures/{png.name})" in markdown
    assert sorted(p.name for p in (root / "report_figures").iterdir()) == sorted(names)


def test_pdf_pages_are_text_pages_then_each_experiments_figures(built):
    root, result = built
    texts = _page_texts(root / "report.pdf")
    assert len(texts) == result["pdf_pages"]
    kinds = []
    for text in texts:
        if "wgan-repro report · " in text:
            kinds.append(text.split("wgan-repro report · ", 1)[1].split()[0])
        else:
            kinds.append(next(line for line in text.splitlines() if "FIGURE" in line).strip())
    n_overview = kinds.count("overview")
    n_fig2 = kinds.count("fig2")
    assert n_overview >= 1 and n_fig2 >= 2  # 160 config lines need a second page
    assert kinds == (["overview"] * n_overview + ["fig2"] * n_fig2
                     + ["FIGURE fig1_a page 1", "FIGURE fig1_a page 2", "FIGURE fig3_b page 1"]
                     + ["probe_adam"] * kinds.count("probe_adam")
                     + ["FIGURE adam_cosine page 1"])
    assert len(texts) == n_overview + n_fig2 + kinds.count("probe_adam") + 4
    # Every config line made it, legibly, onto fig2's text pages.
    fig2_text = "\n".join(t for t, k in zip(texts, kinds) if k == "fig2")
    assert all(line in fig2_text for line in CONFIG_LINES)
    overview = "\n".join(t for t, k in zip(texts, kinds) if k == "overview")
    assert "2 reproduced, 1 not reproduced, 1 inconclusive" in overview
    assert "5 min 12 s" in overview
    assert all(c[1] in overview for c in CLAIMS)  # the compact table names every claim id
    assert "gradients vanish (P1 Fig. 2)" not in overview  # quotes are on the experiment pages
    # Each experiment's claims table holds verdict, quote, rule and measurement side by side.
    assert "gradients vanish (P1 Fig. 2)" in fig2_text and "falls 10x by iter 4000" in fig2_text
    assert "not reproduced" in fig2_text and "2.42" in fig2_text
    probe_words = " ".join(t for t, k in zip(texts, kinds) if k == "probe_adam").split()
    for text in (CLAIMS[2][3], CLAIMS[2][4], CLAIMS[2][8]):  # long ones wrap: words in order
        words = iter(probe_words)
        assert all(word in words for word in text.split()), text


def test_rebuild_removes_stale_pngs_and_repeats_the_report(built, rebuilt):
    stale = rebuilt / "report_figures" / "old__gone_p1.png"
    stale.write_bytes(b"a figure that no longer exists")
    (rebuilt / "report_figures" / "notes.txt").write_text("not ours to delete")
    build_report(rebuilt)
    assert not stale.exists() and (rebuilt / "report_figures" / "notes.txt").exists()
    assert sorted((rebuilt / "report_figures").glob("*.png")) == \
        sorted(rebuilt / p.relative_to(built[0]) for p in built[1]["figures"])

    def without_timestamp(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith("Built ")]

    assert without_timestamp(rebuilt / "REPORT.md") == without_timestamp(built[0] / "REPORT.md")


def test_missing_timings_config_and_unreadable_pdf_are_reported(rebuilt):
    (rebuilt / "timings.csv").unlink()
    (rebuilt / "probe_adam" / "config.yaml").unlink()
    (rebuilt / "fig2" / "fig3_b.pdf").unlink()
    (rebuilt / "fig2" / "zz_broken.pdf").write_bytes(b"not a pdf")
    result = build_report(rebuilt)
    markdown = result["markdown"].read_text()
    assert "Time not recorded: there is no timings.csv" in markdown
    assert "Config not recorded (probe_adam/config.yaml is missing)." in markdown
    assert "**zz_broken.pdf** ([PDF](fig2/zz_broken.pdf)): could not be read" in markdown
    assert "fig3_b" not in markdown
    assert not (rebuilt / "report_figures" / "fig2__fig3_b_p1.png").exists()
    assert len(result["figures"]) == 3


@pytest.mark.parametrize("case", ["missing folder", "no claims.csv", "no rows, no figures"])
def test_nothing_to_report_is_a_one_line_results_error(tmp_path, case):
    root = tmp_path / "results"
    if case != "missing folder":
        root.mkdir()
    if case == "no rows, no figures":
        pd.DataFrame(columns=list(CLAIMS_COLUMNS)).to_csv(root / "claims.csv", index=False)
    with pytest.raises(ResultsError) as err:
        build_report(root)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"no results in {root}")
    assert "wgan-repro all" in message
    assert not (root / "REPORT.md").exists()


@pytest.mark.parametrize("columns", [OLD_CLAIMS_COLUMNS, CLAIMS_COLUMNS[:4]])
def test_claims_csv_of_an_older_wgan_repro_says_rejudge(rebuilt, columns):
    (rebuilt / "REPORT.md").unlink()
    pd.DataFrame([dict(zip(columns, CLAIMS[0]))], columns=list(columns)).to_csv(
        rebuilt / "claims.csv", index=False)
    with pytest.raises(ResultsError) as err:
        build_report(rebuilt)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{rebuilt / 'claims.csv'} was written by "
                                                      "an older wgan-repro")
    assert "`wgan-repro report --rejudge` recomputes the verdicts from the CSVs" in message
    assert not (rebuilt / "REPORT.md").exists()


def test_claims_csv_with_unknown_columns_names_the_expected_ones(rebuilt):
    pd.DataFrame([dict(zip(CLAIMS_COLUMNS, CLAIMS[0]))]).assign(extra="x").to_csv(
        rebuilt / "claims.csv", index=False)
    with pytest.raises(ResultsError, match="expected") as err:
        build_report(rebuilt)
    assert "\n" not in str(err.value) and "older" not in str(err.value)


def test_report_does_not_import_torch(rebuilt):
    # A fresh interpreter: this test process imported torch long ago (conftest). No torch,
    # no training: the report reads files only.
    code = ("import sys; from wgan_repro.report import build_report; "
            f"build_report({str(rebuilt)!r}); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow  # the full smoke `all`
def test_report_after_all_at_smoke_scale(monkeypatch, capsys, tmp_path):
    """The issue's acceptance: `all --scale smoke` then `report`; every experiment present,
    the claims table equal to claims.csv, every figure page rendered, times recorded."""
    from conftest import run_main

    results = tmp_path / "results"
    # Every file a reader may open must arrive by rename from a temporary file (atomic).
    renamed, real_replace = set(), os.replace

    def replace_and_record(src, dst, *args, **kwargs):
        renamed.add(Path(dst).resolve())
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_and_record)
    code, out, err = run_main(monkeypatch, capsys, "all", "--scale", "smoke", "--results",
                              str(results))
    assert code == 0, err
    assert "build the report with: wgan-repro report" in out
    code, out, err = run_main(monkeypatch, capsys, "report", "--results", str(results))
    assert code == 0, err
    assert f"report: {results / 'REPORT.md'}" in out and f"report: {results / 'report.pdf'}" in out
    markdown = (results / "REPORT.md").read_text()
    claims = pd.read_csv(results / "claims.csv", keep_default_na=False, dtype=str)
    assert sorted(claims["experiment"].unique()) == sorted(
        ["fig2", "curve", "ablate", "toy", "clip", "probe_adam", "probe_noise"])
    _assert_claims_in_markdown(markdown, claims)
    assert (claims["paper_quote"] != "").all() and (claims["rule"] != "").all()
    assert "not run" not in markdown.lower().split("## environment")[0].replace("not run: none", "")
    pdfs = sorted(p for p in results.glob("*/*.pdf"))
    pngs = list((results / "report_figures").glob("*.png"))
    assert len(pdfs) >= 10 and len(pngs) >= len(pdfs)
    timings = pd.read_csv(results / "timings.csv")
    assert len(timings) == 7 and (timings["wall_s"] > 0).all() and (timings["tier"] == "smoke").all()
    for experiment in ("fig2", "curve", "ablate", "toy"):
        assert (results / experiment / "config.yaml").is_file()
    written = [p for p in results.rglob("*") if p.is_file() and ".hydra" not in p.parts
               and not p.name.endswith(".lock")]  # lock files hold no data
    assert len(written) > 100
    assert [p for p in written if p.resolve() not in renamed] == []
    assert list(results.rglob("*.tmp")) == []  # no temporary file left behind


def test_a_long_claims_table_repeats_its_header_on_every_page(tmp_path):
    root = tmp_path / "results"
    rows = [dict(zip(CLAIMS_COLUMNS[1:], (f"c{i:03d}", f"claim number {i}", "quote", "rule",
                                          "1", "2", "reproduced", "", "source")))
            for i in range(150)]
    update_claims(root, "fig2", rows)
    build_report(root)
    overview = [t for t in _page_texts(root / "report.pdf") if "report · overview" in t]
    table_pages = [t for t in overview if re.search(r"\bc\d{3}\b", t)]
    assert len(table_pages) >= 2  # 150 rows do not fit one page
    assert all("experiment claim id claim verdict" in t for t in table_pages)
    ids = re.findall(r"\bc(\d{3})\b", "\n".join(table_pages))
    assert ids == [f"{i:03d}" for i in range(150)]  # every row once, in order
