# Two commands matter: `make run` and `make test`. Both create the virtual environment on demand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck unit venv dev package bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[ocr]'
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,ocr]'
	touch $@ $(STAMP_RUN)

venv: $(STAMP_RUN)
dev: $(STAMP_DEV)

run: $(STAMP_RUN)
	$(BIN)/needle-desktop

lint: $(STAMP_DEV)
	$(BIN)/ruff check engine desktop tests bench
	$(BIN)/ruff format --check engine desktop

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

unit: $(STAMP_DEV)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not llama_server"

test: lint typecheck unit

package: $(STAMP_DEV)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python packaging/build.py

bench: $(STAMP_DEV)
	$(BIN)/python bench/index_bench.py ../shared/corpora

clean:
	rm -rf build dist $(VENV) .mypy_cache .pytest_cache .ruff_cache
