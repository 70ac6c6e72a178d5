# Quickstart targets: `make run` and `make test` need only python3 on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: run test lint docs bench coverage clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/infobutton serve --port $(PORT)

# CI runs `make test`, so the suite starts with the lint gate: one definition of "clean"
# (ruff, formatting, mypy) for developers and CI alike, failing in seconds before the slow part;
# then the docs site, so a broken link between pages fails CI too.
test: lint docs
	tests/setup-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
