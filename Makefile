# DR Portal — `make run` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
VAR_DIR ?= var
export DJANGO_SETTINGS_MODULE := dr_portal.settings
# Links in the demo's emails follow the port served on (SITE_URL, when set, still wins).
export SITE_PORT := $(PORT)

.PHONY: help venv mlflow-venv bench-mlflow-peer-venv run test test-fast fmt lint typecheck check-migrations bench clean

help:
	@echo "make run    - set up and serve the demo on http://127.0.0.1:$(PORT) (Ctrl-C stops everything)"
	@echo "make test   - set up and run the whole test suite (prints the 15 slowest tests)"
	@echo "make test-fast - the suite without worker-process and browser tests"
	@echo "make fmt    - format the code and apply ruff's safe fixes"
	@echo "make lint | typecheck | check-migrations | bench"
	@echo "make mlflow-venv - install the MLflow server used by the demo registries and the connector tests"
	@echo "make bench-mlflow-peer-venv - install mlflow-export-import, the MLflow rows' peer in the connector bench"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed; see README"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# The settings `make run` uses, kept so that `python manage.py …` in this checkout
# sees the same configuration (and sessions survive a restart): written once.
$(VAR_DIR)/.env: | $(BIN)/python
	@mkdir -p $(VAR_DIR)
	@printf '# Written by make run; environment variables override these.\nDEBUG=true\nSECRET_KEY=%s\n' \
		"$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "wrote $@ (DEBUG=true and a new SECRET_KEY)"

# The MLflow server that the connector tests and the demo's registries (make run) start. Its own
# virtualenv: mlflow pins gunicorn/graphql-core below the portal's; the portal itself
# only speaks MLflow's REST API. Without it the MLflow connector tests skip.
$(VENV)-mlflow/.installed: requirements-mlflow.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed; see README"; exit 1; }
	$(PYTHON) -m venv $(VENV)-mlflow
	$(VENV)-mlflow/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-mlflow.txt
	@touch $@

mlflow-venv: $(VENV)-mlflow/.installed

# mlflow-export-import, the tool bench/connector_bench.py measures the MLflow connector against
# (bench/mlflow_peer_tool.py runs in it). Its own virtualenv again: neither .venv nor .venv-mlflow changes.
$(VENV)-mlflow-peer/.installed: bench/requirements-mlflow-peer.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed; see README"; exit 1; }
	$(PYTHON) -m venv $(VENV)-mlflow-peer
	$(VENV)-mlflow-peer/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-mlflow-peer.txt
	@touch $@

bench-mlflow-peer-venv: $(VENV)-mlflow-peer/.installed

run: venv mlflow-venv $(VAR_DIR)/.env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py inventory_demo
	$(BIN)/python manage.py incidents_demo
	$(BIN)/python manage.py traffic_demo
	$(BIN)/python manage.py paging_demo
	@echo "DR Portal: http://127.0.0.1:$(PORT)/  (Ctrl-C stops the web server, worker and beat)"
	$(BIN)/honcho start --procfile Procfile.dev --port $(PORT)

test: venv mlflow-venv
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

# No worker processes, no browser: the quick loop while editing.
test-fast: venv
	$(BIN)/pytest -m "not worker and not e2e" $(PYTEST_ARGS)

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	DEBUG=true $(BIN)/mypy .

check-migrations: venv
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

# The audit-log benchmark needs PostgreSQL: DATABASE_URL=postgres://… make bench
# (BENCH_ARGS="--events 100000" for a quick run); without it that one is skipped.
bench: venv
	DEBUG=true $(BIN)/python bench/pdf_bench.py
	DEBUG=true $(BIN)/python -m bench.restore_bench $(RESTORE_BENCH_ARGS)
	DEBUG=true $(BIN)/python bench/report_bench.py
	$(BIN)/python bench/audit_bench.py $(BENCH_ARGS)
	$(BIN)/python -m bench.backup_bench $(BACKUP_BENCH_ARGS)
	$(BIN)/python -m bench.chunk_bench $(CHUNK_BENCH_ARGS)
	$(BIN)/python -m bench.chunk_index_bench $(CHUNK_INDEX_BENCH_ARGS)
	DEBUG=true $(BIN)/python -m bench.failover_bench $(FAILOVER_BENCH_ARGS)
	$(BIN)/python -m bench.scale_bench $(SCALE_BENCH_ARGS)
	DEBUG=true $(BIN)/python -m bench.connector_bench $(CONNECTOR_BENCH_ARGS)

# The estate benchmark (PostgreSQL, and Redis for its worker part); a tenth of the size by default.
# SCALE_BENCH_ARGS="--write docs/benchmarks.md" runs the full size and records it.
SCALE_BENCH_ARGS ?= --quick

clean:
	rm -rf $(VENV) $(VENV)-mlflow $(VENV)-mlflow-peer var
