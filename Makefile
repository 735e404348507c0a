# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# Parallel test workers; the suite is database-bound and each worker has its own database.
WORKERS ?= auto

.PHONY: run test test-sqlite test-postgres lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(FLASK) refresh-availability
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_POSTGRES_URL is not set: PostgreSQL-only tests were skipped"; fi

test-sqlite: $(STAMP)
	TEST_BACKEND=sqlite $(BIN)/pytest -n $(WORKERS) -q

test-postgres: $(STAMP)
	TEST_BACKEND=postgres $(BIN)/pytest -n $(WORKERS) -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance/*.db
