"""One module per figure verb, each of one shape (wgan_repro.aggregate says it whole): a task
``run_*(cfg) -> dict`` per job, and ``aggregate(results_dir, runs, ...) -> summary``, which
writes the experiment's CSVs and summary.json; plans.conclude judges the claims and draws the
figures from those files."""
