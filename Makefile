# statefleet: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# installs Debian's PostgreSQL (as root) where initdb is missing; the tests and demo-cluster
# start a throwaway server of their own with its initdb/pg_ctl
NEED_POSTGRES = ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	&& (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1) \
	|| echo "note: PostgreSQL not installed (its tests skip: apt-get install postgresql)"; }

.PHONY: test demo demo-cluster demo-inspect lint typecheck fmt bench bench-peers conformance docs clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3)"; exit 1; }
	@# Graphviz renders `statefleet diagram --format svg`; optional (its test skips, saying why)
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq graphviz >/dev/null 2>&1) \
		|| echo "note: Graphviz not installed (svg diagrams need it: apt-get install graphviz)"; }
	@# PostgreSQL: the tests start a throwaway server with its initdb/pg_ctl (PostgresStore, cluster)
	@$(NEED_POSTGRES)
	@# Chromium: the inspector's browser tests drive Debian's chromium with Playwright
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) \
		|| echo "note: chromium not installed (the inspector's browser tests skip: apt-get install chromium)"; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m statefleet.demo
	@echo "live web inspector of a running fleet: make demo-inspect (then open http://127.0.0.1:8000/)"

# the demo's order fleet on three node processes sharing a throwaway PostgreSQL; one node is
# SIGKILLed mid-run, its shards move, the ledger is checked (ARGS=--help: the options)
demo-cluster: $(STAMP)
	@$(NEED_POSTGRES)
	$(PY) -m statefleet.demo.cluster $(ARGS)

# the demo fleet kept running behind the HTTP API and the live inspector, until Ctrl-C
demo-inspect: $(STAMP)
	$(PY) -m statefleet.demo.live $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests examples benchmarks
	$(VENV)/bin/ruff check --fix src tests examples benchmarks

docs: $(STAMP)
	$(PY) -m pip install -q -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict

conformance: $(STAMP)
	$(VENV)/bin/statefleet w3c --trusted tests/conformance/w3c/mandatory
	$(VENV)/bin/statefleet w3c --trusted tests/conformance/w3c/optional

bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

# Peers live in their own venv (one per Python) so they never leak into ours:
#   make bench-peers                        (Python 3.11)
#   make bench-peers PYTHON=python3.13      (with pyenv: PYENV_VERSION=3.13.0)
#   make bench-peers ARGS=--markdown        (ARGS=--quick: a short smoke run)
# A peer that does not install on that Python is reported; its rows say "not installed".
PEERS     ?= .venv-peers/$(notdir $(PYTHON))
# pystator[api]: `import pystator` (0.0.47) imports its FastAPI app, so the bare package does
# not import; pysqlite3-binary: DBOS on Python >= 3.12 needs SQLite >= 3.42 (the bench uses it
# only when the stdlib's is older); pytest runs tests/test_benchmarks_peers_smoke.py there
PEER_PKGS := python-statemachine transitions sismic xstate-statemachine miros 'pystator[api]' \
             stateforward-hsm pykka thespian xoscar eventsourcing dbos pysqlite3-binary \
             opentelemetry-sdk pytest
bench-peers:
	@test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	@for p in $(PEER_PKGS); do $(PEERS)/bin/python -m pip install -q "$$p" >/dev/null 2>&1 \
		|| echo "note: peer $$p did not install on $(PYTHON)"; done
	$(PEERS)/bin/python -m pip install -q -e .
	@# the harness's peer cases, checked at tiny sizes before anything is timed
	$(PEERS)/bin/python -m pytest -m peers tests/test_benchmarks_peers_smoke.py
	$(PEERS)/bin/python benchmarks/bench_peers.py $(ARGS)
	$(PEERS)/bin/python benchmarks/bench_peers_runtime.py $(ARGS)

clean:
	rm -rf $(VENV) $(PEERS) build *.egg-info
