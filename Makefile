# DR Portal — `make run` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE := dr_portal.settings

.PHONY: help venv mlflow-venv run test lint typecheck check-migrations bench clean

help:
	@echo "make run    - set up and serve the demo on http://127.0.0.1:$(PORT) (Ctrl-C stops everything)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint | typecheck | check-migrations | bench"
	@echo "make mlflow-venv - install the MLflow server used by the MLflow connector tests"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed; see README"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# The MLflow server that the connector tests (and the demo's registry) start. Its own
# virtualenv: mlflow pins gunicorn/graphql-core below the portal's; the portal itself
# only speaks MLflow's REST API. Without it the MLflow connector tests skip.
$(VENV)-mlflow/.installed: requirements-mlflow.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed; see README"; exit 1; }
	$(PYTHON) -m venv $(VENV)-mlflow
	$(VENV)-mlflow/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-mlflow.txt
	@touch $@

mlflow-venv: $(VENV)-mlflow/.installed

run: venv
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py demo_setup
	DEBUG=true $(BIN)/python manage.py inventory_demo
	DEBUG=true $(BIN)/python manage.py incidents_demo
	DEBUG=true $(BIN)/python manage.py traffic_demo
	@echo "DR Portal: http://127.0.0.1:$(PORT)/  (Ctrl-C stops the web server, worker and beat)"
	DEBUG=true $(BIN)/honcho start --procfile Procfile.dev --port $(PORT)

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

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
	DEBUG=true $(BIN)/python -m bench.failover_bench $(FAILOVER_BENCH_ARGS)

clean:
	rm -rf $(VENV) $(VENV)-mlflow var
