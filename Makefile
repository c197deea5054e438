# The two set-up commands of README.md. Each creates .venv (once) with Python 3.11+ and pip,
# installs what it needs, and runs. Installs are redone only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test docs lab browser lint sample-data bench clean

demo: $(VENV)/.installed-run
	$(BIN)/c2c demo
	$(BIN)/c2c batch --out reports --workers 2

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest

# The report test opens report.html in Debian's chromium (never a downloaded browser build).
# Installed when missing and this user may (root with apt-get); otherwise that test skips.
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && \
	      apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	    echo "chromium could not be installed; the browser test will skip"; \
	  else echo "chromium is not installed; the browser test will skip"; fi; }

# The documentation site: docs/_build/html (index.html). The notebook gallery is executed on
# the bundled sample and cached in docs/_build/.jupyter_cache until a notebook changes.
docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -b html docs docs/_build/html -j auto -W --keep-going

# JupyterLab in the project's environment, opened on the notebook templates.
lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks/

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The runner's benchmarks (minutes each; figures printed as ratios measured in one run).
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/report.py
	$(BIN)/python benchmarks/partnership_rows.py
	$(BIN)/python benchmarks/dask_batch.py

sample-data: $(VENV)/.installed-run
	$(BIN)/python data/sample/make_sample_data.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run $(VENV)/.installed-docs

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis .ruff_cache docs/_build
