# The two commands a newcomer needs: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint crds e2e bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/gwsync demo

test: $(BIN)/.installed
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

crds: $(BIN)/.installed
	$(BIN)/gwsync crds > crds/crds.yaml
	$(BIN)/gwsync crds --reference > docs/reference.md

e2e: $(BIN)/.installed
	GWSYNC_E2E=1 $(BIN)/pytest tests/e2e -m e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
