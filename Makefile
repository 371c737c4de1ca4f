# The two commands: `make run` serves the sandbox, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := cd sandbox && ../$(BIN)/python manage.py
HOST ?= 127.0.0.1:8000
# PostgreSQL for the second test pass; override with DATABASE_URL.
PG_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/wagtail_segments)

.PHONY: run test lint format docs benchmark clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.10 or newer is needed") if sys.version_info < (3, 10) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[testing,docs]"
	touch $@

run: $(BIN)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo --host $(HOST)
	$(MANAGE) runserver $(HOST)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	@echo "== docs build (strict: broken links fail)"
	$(BIN)/mkdocs build --strict --quiet --site-dir build/docs
	@echo "== pytest on SQLite"
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report --fail-under=80
	@if $(BIN)/python tests/postgres_available.py "$(PG_URL)"; then \
		echo "== pytest on PostgreSQL ($(PG_URL))"; \
		DATABASE_URL="$(PG_URL)" $(BIN)/python -m pytest -p no:cacheprovider; \
	else \
		echo "== PostgreSQL not reachable at $(PG_URL): PostgreSQL pass skipped"; \
	fi

# On demand, not in CI: plain Wagtail against personalised pages (docs/concepts/performance.md).
benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py --profile

docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir build/docs

clean:
	rm -rf $(VENV) build sandbox/db.sqlite3 sandbox/media sandbox/static test-artifacts .coverage
