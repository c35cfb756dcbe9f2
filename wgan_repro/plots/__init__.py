"""Figures from CSVs only (and the runs' sample grids): re-plotting never trains and never
imports torch. Vector PDFs with paper-like axes. One module per experiment, each with
``figures(folder) -> list[Path]``: every figure of that experiment, drawn from the files its
aggregation wrote into ``folder`` (results/<name>/). wgan_repro.registry names it per
experiment; style.py holds what they share."""
