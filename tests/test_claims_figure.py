"""claims.pdf: every claim on one figure, drawn from claims.csv and claims_seeds.csv only, and
the report's first figure."""

import pandas as pd
import pytest

from wgan_repro.plots import claims as claims_figure
from wgan_repro.results import CLAIMS_COLUMNS, CLAIMS_SEEDS_COLUMNS

SEEDS = [  # claim_id, part, seed, statistic, value, threshold, passes
    ("p1_fig2", "epoch 1", 0, "orders decayed", 4.5, ">= 1", "True"),
    ("p1_fig2", "epoch 1", 1, "orders decayed", 0.5, ">= 1", "False"),
    ("p1_fig2", "best snapshot", 0, "orders decayed", "", ">= 5", ""),  # not measured
    ("p1_fig3_quality", "epoch 1", 0, "FCD change", -1.2, "> 0", "False"),
    ("p1_fig3_quality", "epoch 1", 1, "FCD change", 0.3, "> 0", "True"),
    ("p2_fig5", "FCD ratio", 0, "larger / smaller", 1.5, "<= 2", "True"),
]


def _results(tmp_path):
    claims = [dict.fromkeys(CLAIMS_COLUMNS, "x") | {"claim_id": c, "verdict": v, "experiment": e}
              for c, v, e in (("p1_fig2", "inconclusive", "fig2"),
                              ("p1_fig3_quality", "inconclusive", "fig2"),
                              ("p2_fig5", "reproduced", "ablate"),
                              ("p2_fig6", "inconclusive", "ablate"))]  # p2_fig6: no seed rows
    pd.DataFrame(claims, columns=CLAIMS_COLUMNS).to_csv(tmp_path / "claims.csv", index=False)
    pd.DataFrame(SEEDS, columns=CLAIMS_SEEDS_COLUMNS).to_csv(tmp_path / "claims_seeds.csv",
                                                             index=False)
    return tmp_path


def test_each_claim_on_its_rules_scale():
    seeds = pd.DataFrame(SEEDS, columns=CLAIMS_SEEDS_COLUMNS).astype(str)
    by_claim = claims_figure.points(seeds)
    assert [p["part"] for p in by_claim["p1_fig2"]] == ["epoch 1", "epoch 1"]  # n/a left out
    assert claims_figure.scaled(by_claim["p1_fig2"]) == ("ratio", [4.5, 0.5])
    # a threshold of 0: the distance from it, not a ratio
    assert claims_figure.scaled(by_claim["p1_fig3_quality"]) == ("difference",
                                                                 [pytest.approx(-1.2), 0.3])
    assert by_claim["p2_fig5"][0]["comparison"] == "<=" and by_claim["p2_fig5"][0]["passes"]


def test_claims_pdf_has_one_row_per_claim(tmp_path):
    path = claims_figure.draw(_results(tmp_path))
    assert path == tmp_path / "claims.pdf" and path.read_bytes().startswith(b"%PDF")
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(path)[0].get_textpage().get_text_range()
    for claim in ("p1_fig2: inconclusive", "p2_fig5: reproduced", "p2_fig6: inconclusive",
                  "no seed measured", "value ÷ threshold", "value − threshold"):
        assert claim in text, claim


def test_no_claims_seeds_no_figure(tmp_path):
    (tmp_path / "claims.csv").write_text(",".join(CLAIMS_COLUMNS) + "\n")
    assert claims_figure.draw(tmp_path) is None and not (tmp_path / "claims.pdf").exists()


def test_the_report_opens_with_the_claims_figure(tmp_path):
    from wgan_repro.report import build_report

    built = build_report(_results(tmp_path))
    markdown = built["markdown"].read_text()
    first = markdown.index("![")
    assert markdown[first:].startswith("![") and "claims__claims_p1.png" in markdown[first:first + 200]
    assert built["figures"][0] == tmp_path / "report_figures" / "claims__claims_p1.png"
