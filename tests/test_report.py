"""`wgan-repro report` on a fake results folder: it only reads files, and what it writes says
exactly what the files hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from wgan_repro.errors import ResultsError
from wgan_repro.report import build_report
from wgan_repro.results import CLAIMS_COLUMNS, update_claims, update_timings

CLAIMS = [
    ("fig2", 'the original cost\'s gradient vanishes, "fast" (P1 Fig. 2)',
     "falls >= 1 order | in 4000 iterations", "epoch 1: 2.42, epoch 20: 2.13\nsecond line",
     "reproduced", "fig2/grad_norms.csv (tier cpu, seeds 0,1)"),
    ("fig2", "the -log D gradient does not vanish: a*b `code` <b>bold?</b> back\\slash \\|",
     "1e-3", "", "not reproduced", "fig2/grad_norms.csv"),
    ("probe_adam", "Adam's step cosine turns negative; $x$ is text", "0.5", "0.11% of 4375",
     "inconclusive", "probe/adam_cosine.csv"),
    ("probe_adam", "Adam blows up more often than RMSProp", "yes", "32 vs 32", "reproduced",
     "probe/adam_cosine.csv"),
]
CONFIG_LINES = [f"key_{i:03d}: value {i}" for i in range(160)]  # long: 2 pages of columns


def _figure_pdf(path: Path, labels: list[str]) -> None:
    """A small matplotlib PDF with one page per label; each page's text names it."""
    from matplotlib.backends.backend_pdf import PdfPages

    from wgan_repro.plots import _pyplot

    plt = _pyplot()
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
    _figure_pdf(root / "probe" / "adam_cosine.pdf", ["FIGURE adam_cosine page 1"])
    (root / "probe" / "config_adam.yaml").write_text("probe:\n  arms: [adam, rmsprop]\n")
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


def _markdown_table(markdown: str, header_start: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([_unescape(c) for c in _split_row(line)])
    return rows


def _page_texts(pdf: Path) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


# --------------------------------------------------------------------------------- tests


def test_claims_table_equals_claims_csv(built):
    root, _ = built
    expected = pd.read_csv(root / "claims.csv", keep_default_na=False, dtype=str)
    assert len(expected) == len(CLAIMS)
    assert expected.values.tolist() == [list(c) for c in CLAIMS]  # the tricky text survives CSV
    markdown = (root / "REPORT.md").read_text()
    table = _markdown_table(markdown, "| experiment | claim | paper | measured | verdict |")
    assert table == expected.values.tolist()


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
    assert "[PDF](probe/adam_cosine.pdf)" in probe


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
    (rebuilt / "probe" / "config_adam.yaml").unlink()
    (rebuilt / "fig2" / "fig3_b.pdf").unlink()
    (rebuilt / "fig2" / "zz_broken.pdf").write_bytes(b"not a pdf")
    result = build_report(rebuilt)
    markdown = result["markdown"].read_text()
    assert "Time not recorded: there is no timings.csv" in markdown
    assert "Config not recorded (probe/config_adam.yaml is missing)." in markdown
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


def test_report_does_not_import_torch(rebuilt):
    # A fresh interpreter: this test process imported torch long ago (conftest). No torch,
    # no training: the report reads files only.
    code = ("import sys; from wgan_repro.report import build_report; "
            f"build_report({str(rebuilt)!r}); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_report_after_all_at_smoke_scale(monkeypatch, capsys, tmp_path):
    """The issue's acceptance: `all --scale smoke` then `report`; every experiment present,
    the claims table equal to claims.csv, every figure page rendered, times recorded."""
    from test_cli import run_main

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
        ["fig2", "curve", "ablate", "toy", "probe_adam", "probe_noise"])
    table = _markdown_table(markdown, "| experiment | claim | paper | measured | verdict |")
    assert table == claims.values.tolist()
    assert "not run" not in markdown.lower().split("## environment")[0].replace("not run: none", "")
    pdfs = sorted(p for p in results.glob("*/*.pdf"))
    pngs = list((results / "report_figures").glob("*.png"))
    assert len(pdfs) >= 10 and len(pngs) >= len(pdfs)
    timings = pd.read_csv(results / "timings.csv")
    assert len(timings) == 6 and (timings["wall_s"] > 0).all() and (timings["tier"] == "smoke").all()
    for experiment in ("fig2", "curve", "ablate", "toy"):
        assert (results / experiment / "config.yaml").is_file()
    written = [p for p in results.rglob("*") if p.is_file() and ".hydra" not in p.parts
               and not p.name.endswith(".lock")]  # lock files hold no data
    assert len(written) > 100
    assert [p for p in written if p.resolve() not in renamed] == []
    assert list(results.rglob("*.tmp")) == []  # no temporary file left behind
