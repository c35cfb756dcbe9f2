"""The documentation stays usable: README.md and docs/*.md link only to things that exist,
the README stays short enough to finish and opens with what a newcomer needs, and no docs
page is unreachable from it. Reads files only (no torch, no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
# [text](target) or [text](target "title"); the text may hold `code` and nested [..].
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
EXTERNAL = ("http://", "https://", "mailto:")


def _without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def links(path: Path) -> list[str]:
    """Every link target in a Markdown file, fenced code blocks left out."""
    text = _without_code_blocks(path.read_text(encoding="utf-8"))
    return LINK.findall(text) + IMG.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text (links replaced by their text),
    lowercased, punctuation other than - and _ dropped, spaces turned into -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file offers: one per heading (a repeated heading gets -1, -2,
    ... as on GitHub) and every explicit <a id=...>."""
    text = path.read_text(encoding="utf-8")
    found: set[str] = set(EXPLICIT_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for _, title in HEADING.findall(_without_code_blocks(text)):
        base = slug(title)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        if target.lower().startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        if path_part:
            base = ROOT if path_part.startswith("/") else page.parent
            resolved = (base / path_part.lstrip("/")).resolve()
            if not resolved.is_relative_to(ROOT):
                problems.append(f"{target}: outside the repository")
                continue
            if not resolved.exists():
                problems.append(f"{target}: no such file or folder")
                continue
        else:
            resolved = page
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading '#{anchor}' in {resolved.relative_to(ROOT)}")
    return problems


def test_there_are_docs_pages():
    assert README.exists()
    assert list(DOCS.glob("*.md")), "docs/ has no pages"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == [], f"broken links in {page.relative_to(ROOT)}"


def test_slug_follows_github():
    assert slug("`fig2`: P1 Figures 1–3") == "fig2-p1-figures-13"
    assert slug("Seeds, sweeps and launchers") == "seeds-sweeps-and-launchers"
    assert slug("fig2_cpu") == "fig2_cpu"
    assert slug("Paper scale on a GPU or a SLURM cluster") == "paper-scale-on-a-gpu-or-a-slurm-cluster"


def test_link_finder_sees_links_and_skips_code_blocks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("see [`a.csv`](a.csv) and [b](b.md#x \"t\")\n<img src=\"c.png\">\n"
                    "```bash\nwgan-repro x '[y](not-a-link)'\n```\n", encoding="utf-8")
    assert links(page) == ["a.csv", "b.md#x", "c.png"]


def test_readme_is_short_and_opens_with_what_a_newcomer_needs():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines (at most 300)"
    head = lines[:150]
    text = "\n".join(head)

    # The two commands that work on a fresh machine are the first content after the title.
    content = [line for line in head[1:] if line.strip()]
    assert content[0].startswith("```"), "the README must open with the two commands"
    assert content[1].startswith("make demo") and content[2].startswith("make test"), content[:3]
    assert content[3].startswith("```")
    assert "make test-all" in text and ".ci/run" in text, \
        "say that make test-all (.ci/run) runs the whole suite"

    for verb in ("fig2", "curve", "ablate", "toy", "probe adam", "probe noise", "all", "report",
                 "train"):
        assert f"wgan-repro {verb}" in text, f"verb {verb!r} missing from the first 150 lines"

    # The code map, whole, within the first 150 lines.
    starts = [i for i, line in enumerate(lines) if re.match(r"#+\s+Code map", line)]
    assert starts and starts[0] < 150, "no '## Code map' section in the first 150 lines"
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    assert end <= 150, f"the code map runs to line {end}, past line 150"
    code_map = "\n".join(lines[start:end])
    for module in ("cli.py", "registry.py", "plans.py", "hydra_runner.py", "schema.py",
                   "experiments/", "verdicts.py", "claims/", "stats.py", "aggregate.py",
                   "plots/", "report.py", "train.py", "results.py"):
        assert module in code_map, f"the code map does not name {module}"
    assert "results/" in text, "say where results go in the first 150 lines"


def test_every_docs_page_is_linked_from_the_readme():
    linked = set()
    for target in links(README):
        path_part = target.partition("#")[0]
        if path_part and not target.lower().startswith(EXTERNAL):
            linked.add((README.parent / path_part).resolve())
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert unlinked == [], f"docs pages not linked from README.md: {unlinked}"


def test_config_comments_point_to_docs_that_exist():
    """The YAML files' comments name docs pages and sections (docs/measurements.md#fig2_cpu);
    each must exist, so a renamed heading cannot leave a config pointing nowhere."""
    pointer = re.compile(r"docs/([\w.-]+\.md)(?:#([\w-]+))?")
    problems = []
    for path in sorted((ROOT / "conf").rglob("*.yaml")):
        for name, anchor in pointer.findall(path.read_text(encoding="utf-8")):
            page = DOCS / name
            if not page.exists():
                problems.append(f"{path.relative_to(ROOT)}: docs/{name} does not exist")
            elif anchor and anchor not in anchors(page):
                problems.append(f"{path.relative_to(ROOT)}: no '#{anchor}' in docs/{name}")
    assert problems == []
