# Quickstart targets: `make run` and `make test` need only python3 on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: run test test-fast setup-browser lint docs bench coverage clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/infobutton serve --port $(PORT)

# CI runs `make test`, so the suite starts with the lint gate: one definition of "clean"
# (ruff, formatting, mypy) for developers and CI alike, failing in seconds before the slow part;
# then the docs site, so a broken link between pages fails CI too. The whole suite, every tier;
# the system packages its browser and proxy tiers need are installed first, as a step of its own
# (setup-browser), so nothing is installed as a side effect of a test.
test: lint docs setup-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast loop: pure and in-process tests (docs/development.md, Tiers, says what it takes). The tiers it leaves out are the
# markers in pyproject.toml; a test that needs a real service cannot forget its marker.
FAST_TIER := not (gunicorn or nginx or browser or postgres or redis or packaging or slow)
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "$(FAST_TIER)" $(PYTEST_ARGS)

# Debian's chromium, axe-core and nginx for the browser and proxy tiers: installs only what is
# missing (apt-get needs root), and does nothing when all are there.
setup-browser:
	tests/setup-browser.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check infobutton tests bench
	$(BIN)/ruff format --check infobutton tests bench
	$(BIN)/mypy

# The documentation site (mkdocs.yml, docs/) into build/site; --strict: any warning fails.
docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir build/site

bench: $(BIN)/.installed
	$(BIN)/python bench/throughput.py

coverage: $(BIN)/.installed
	$(BIN)/python bench/coverage.py

clean:
	rm -rf $(VENV) build dist *.egg-info
