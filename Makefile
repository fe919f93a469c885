# The two commands a newcomer needs: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint crds e2e bench clean control-plane soak

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/gwsync demo

# The first run also builds a real Kubernetes control plane (kube-apiserver, kube-controller-manager,
# etcd) from its Go modules into ~/.cache/gwsync (about 12 minutes on 2 cores, once). Without Go the
# real-server tests skip with the reason; in CI (CI=true) a failed build fails the run. Three pytest
# workers share all tests; each starts its own control plane (and Canaille) for the tests it gets.
# Three, on 2 cores: the real-server tests wait on processes much of the time (measured: 2 workers
# kept 1.55 cores busy, 589 s; 3 workers 1.8 cores, 525 s). The kind suite (tests/e2e, marker e2e)
# needs a container engine and is `make e2e`'s: deselected here, not skipped.
test: $(BIN)/.installed
	@bash tests/controlplane/build.sh || { [ -z "$$CI" ] && echo "make test: no control plane; the real-server tests will skip"; }
	$(BIN)/pytest -n 3 -m "not e2e"

control-plane:
	bash tests/controlplane/build.sh

# The long chaos soak (docs/reliability.md): 250 syncs from a fresh seed (printed);
# GWSYNC_SOAK_SEED=<seed> replays a run.
soak: $(BIN)/.installed
	GWSYNC_SOAK_SEED=$${GWSYNC_SOAK_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} \
	GWSYNC_SOAK_SYNCS=$${GWSYNC_SOAK_SYNCS:-250} $(BIN)/pytest -p no:xdist -q -s tests/integration/soak

lint: $(BIN)/.installed
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

crds: $(BIN)/.installed
	$(BIN)/gwsync crds > crds/crds.yaml
	$(BIN)/gwsync crds --reference > docs/reference.md

e2e: $(BIN)/.installed
	GWSYNC_E2E=1 $(BIN)/pytest tests/e2e -m e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
