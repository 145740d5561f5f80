# Two commands: `make run` serves the platform with demo content (and runs its job consumer); `make test` runs lint and the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app competency
PYTHON ?= python3
export COMPETENCY_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test lint install translations db bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

translations: install
	$(FLASK) translate compile

db: install translations
	$(FLASK) init-db
	$(FLASK) seed-demo

# The background-job consumer (huey on an SQLite queue in instance/, no Redis) runs beside the dev
# server and is stopped with it.
run: db
	$(FLASK) jobs worker --workers 2 & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(VENV)/bin/ruff check competency tests benchmarks tools

# Two workers (pytest-xdist; TEST_WORKERS=0 runs in one process). PostgreSQL runs in one process: the
# workers would share its one test database.
TEST_WORKERS ?= 2
test: install translations lint
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest -n $(TEST_WORKERS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again against PostgreSQL: $$TEST_DATABASE_URL"; \
		$(VENV)/bin/pytest tests/app; \
	fi

bench: install
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_irt.py --quick
	$(PY) benchmarks/bench_cat.py --quick
	$(PY) benchmarks/bench_api.py --quick

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
