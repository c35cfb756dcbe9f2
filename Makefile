# Each target creates .venv if it is missing, installs the project into it, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all smoke-compare lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project definition changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,launchers]'
	touch $(STAMP)

# P1 Fig. 1-3 on the bundled digits at the cpu tier, one seed (5 min 10 s on 2 CPU cores from a
# fresh clone, venv and install included; the default two seeds take ~8), then the report of everything under results/ (reads files only).
demo: $(STAMP)
	$(BIN)/wgan-repro fig2 --epochs 1,20,25 --seeds 0
	$(BIN)/wgan-repro report
	@echo "open results/REPORT.md (or results/report.pdf)"

# The fast set (tests marked slow are left out: pyproject.toml's addopts).
test: $(STAMP)
	$(BIN)/python -m pytest

# Everything, the slow tests included (what CI runs).
test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

# Refactors: `wgan-repro all --scale smoke` with the code of BASE and with the working tree,
# every CSV compared exactly (times excluded). Exit 1, naming each difference, if a number moved.
BASE ?= HEAD
smoke-compare: $(STAMP)
	$(BIN)/python tools/smoke_compare.py --base $(BASE)

lint: $(STAMP)
	$(BIN)/ruff check wgan_repro tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
