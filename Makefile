# The README's commands. Each target sets up .venv first (once: a stamp file remembers it), so a
# fresh clone needs nothing but Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Prefer the venv's python3 kernel over one a user may have installed in ~/.local/share/jupyter.
export JUPYTER_PREFER_ENV_PATH := 1
# Tracebacks name cells <IPY-INPUT> instead of a machine path under /tmp (nbval, committed outputs).
export IPYKERNEL_CELL_NAME := <IPY-INPUT>
export PYDEVD_DISABLE_FILE_VALIDATION := 1

NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg
STRIP_KEYS := metadata.papermill cell.metadata.papermill cell.metadata.execution metadata.widgets metadata.language_info.version

.PHONY: setup test figures lab notebooks benchmark clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

## Lint; nbval on the committed notebooks (each executes once, leaving its record and figures for tests/);
## unit, property and CLI tests.
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(NBVAL) notebooks tests

## Execute every notebook with the paper preset (two at a time, one torch thread each): figures/,
## figures/README.md (gallery) and build/paper/report.md.
figures: setup
	$(BIN)/normprop reproduce --preset paper --jobs 2

## JupyterLab on the notebooks.
lab: setup
	$(BIN)/jupyter lab notebooks

## Re-execute the committed notebooks with the quick preset and strip volatile metadata.
notebooks: setup
	for nb in notebooks/[0-9]*.ipynb; do \
	  $(BIN)/papermill --cwd notebooks --no-progress-bar "$$nb" "$$nb" || exit 1; \
	done
	$(BIN)/nbstripout --keep-output --keep-count --extra-keys "$(STRIP_KEYS)" notebooks/[0-9]*.ipynb

## Time each notebook's core sweep: batched engine vs a per-seed loop of nn.Modules.
benchmark: setup
	$(BIN)/python benchmarks/bench_sweeps.py

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
