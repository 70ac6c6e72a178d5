# Quickstart targets: `make run` and `make test` need only python3 on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: run test lint bench coverage clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/infobutton serve --port $(PORT)

test: $(BIN)/.installed
	tests/setup-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check infobutton tests bench

bench: $(BIN)/.installed
	$(BIN)/python bench/throughput.py

coverage: $(BIN)/.installed
	$(BIN)/python bench/coverage.py

clean:
	rm -rf $(VENV) build dist *.egg-info
