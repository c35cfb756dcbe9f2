"""One module per figure verb: each exposes a task ``run_*(cfg) -> dict`` for one seed and an
``aggregate(...)`` that turns every seed's CSVs into the figure data, plots and claims."""
