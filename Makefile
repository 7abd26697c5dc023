# The README's commands. Each target sets up .venv first (once: a stamp file remembers it), so a
# fresh clone needs nothing but Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The environment of every Jupyter kernel (normprop.repro.runtime.kernel_environment, defined once): the venv's
# kernel, cell names without machine paths, the pinned numerical code paths. pytest sets it in conftest.py; the Jupyter commands here get it so.
KERNEL_ENV = env $$($(BIN)/python -c "from normprop.repro.runtime import kernel_environment as e; print(*(f'{k}={v}' for k, v in e().items()))")

# Per-cell time limits (seconds) for nbval and papermill: a hung cell fails the run instead of blocking it.
# No whole notebook takes more than about 140 s (paper preset; see the README), so 600 s only stops a hang.
CELL_TIMEOUT ?= 600
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg \
	--nbval-cell-timeout=$(CELL_TIMEOUT)
PAIR = $(BIN)/jupytext --quiet --to py:percent notebooks/[0-9]*.ipynb
STRIP_KEYS := metadata.papermill cell.metadata.papermill cell.metadata.execution metadata.widgets metadata.language_info.version

# jupyter refuses to start as root (e.g. in a Docker container) unless told to.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup test figures lab notebooks pair book benchmark clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

## Lint; nbval on the committed notebooks (each executes once, leaving its record and figures for tests/);
## unit, property and CLI tests. The tests marked `processes` (Ctrl-C, timeouts, locks, a Dask cluster: real
## processes they mostly wait on) run beside the notebooks in a second pytest session, on the other core; its
## output follows, and the target fails if either session fails.
test: setup
	$(BIN)/ruff check .
	mkdir -p build
	$(BIN)/python -m pytest -m processes tests > build/test-processes.log 2>&1 & processes=$$!; \
	$(BIN)/python -m pytest $(NBVAL) -m "not processes" notebooks tests; status=$$?; \
	wait $$processes; processes_status=$$?; \
	echo "---- tests marked processes (run beside the notebooks) ----"; cat build/test-processes.log; \
	test $$status -eq 0 && test $$processes_status -eq 0

## Execute every notebook with the paper preset (two at a time, one torch thread each): figures/,
## figures/README.md (gallery) and build/paper/report.md; then the table of how far the numbers are from the committed
## reference (normprop verify), which it rewrites (figures/reference/).
figures: setup
	$(BIN)/normprop reproduce --preset paper --jobs 2; status=$$?; \
	$(BIN)/normprop verify --preset paper --write && exit $$status

## JupyterLab on the notebooks.
lab: setup
	$(KERNEL_ENV) $(BIN)/jupyter lab $(ALLOW_ROOT) notebooks

## Re-execute the committed notebooks with the quick preset, each into build/notebooks/ first: a notebook
## replaces the committed one only once it ran through (then stripped of volatile metadata), so a failing
## cell never overwrites it. Then regenerate the text twins (make pair).
notebooks: setup
	mkdir -p build/notebooks
	for nb in notebooks/[0-9]*.ipynb; do \
	  out="build/notebooks/$$(basename "$$nb")"; \
	  $(KERNEL_ENV) $(BIN)/papermill --cwd notebooks --no-progress-bar --execution-timeout $(CELL_TIMEOUT) "$$nb" "$$out" \
	    || { echo "$$nb failed: its output is in $$out; the committed notebook is unchanged" >&2; exit 1; }; \
	  $(BIN)/nbstripout --keep-output --keep-count --extra-keys "$(STRIP_KEYS)" "$$out" && mv "$$out" "$$nb" || exit 1; \
	done
	$(PAIR)

## The notebooks' text twins (notebooks/<name>.py, jupytext percent format) from the .ipynb files: readable
## diffs; tests/test_pairing.py fails when they are out of sync.
pair: setup
	$(PAIR)

## A static HTML book, build/book/index.html: the README, every notebook with its outputs (paper preset from
## build/paper/ when make figures has run, else the committed ones), the figure gallery and the report.
## Renders stored outputs, executes nothing, needs no network.
book: setup
	$(BIN)/python -m normprop.repro.book --preset paper

## Time each notebook's core sweep: batched engine vs a per-seed loop of nn.Modules.
benchmark: setup
	$(BIN)/python benchmarks/bench_sweeps.py

## Remove what runs leave behind: build/ (executed notebooks, records, quick-preset figures and the task result
## cache build/cache/, so the next run recomputes every sweep) and the tools' caches.
clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
