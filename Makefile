# The two commands: `make run` serves the sandbox, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := cd sandbox && ../$(BIN)/python manage.py
HOST ?= 127.0.0.1:8000
# pytest-xdist: a worker per core, each test file on one worker (a file's tests share
# their Redis database and servers).
PARALLEL ?= -n auto --dist loadfile
# PostgreSQL for the second test pass; override with DATABASE_URL.
PG_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/wagtail_segments)
# tox finds each matrix leg's Python on PATH; pyenv's shims serve only its active
# version, so every Python 3 that pyenv has is put on PATH as well.
PYENV_BINS := $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.*/bin)

.PHONY: run test test-matrix lint format docs benchmark clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.10 or newer is needed") if sys.version_info < (3, 10) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[testing,docs]"
	touch $@

# axe-core for the browser tests' accessibility checks (package.json, from npm).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

run: $(BIN)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo --host $(HOST)
	$(MANAGE) runserver $(HOST)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layers in pyproject.toml's [tool.importlinter]

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint node_modules/.installed
	@echo "== docs build (strict: broken links fail)"
	$(BIN)/mkdocs build --strict --quiet --site-dir build/docs
	@echo "== pytest on SQLite"
	$(BIN)/python -m pytest $(PARALLEL) --cov --cov-report=term --cov-fail-under=80
	@if $(BIN)/python tests/postgres_available.py "$(PG_URL)"; then \
		echo "== pytest on PostgreSQL ($(PG_URL))"; \
		DATABASE_URL="$(PG_URL)" $(BIN)/python -m pytest $(PARALLEL) -p no:cacheprovider; \
	else \
		echo "== PostgreSQL not reachable at $(PG_URL): PostgreSQL pass skipped"; \
	fi
	$(MAKE) test-matrix

# The oldest and the newest supported Python, Django and Wagtail (tox.ini's `ci` label),
# on SQLite without the browser tests; a missing Python fails rather than skips.
test-matrix: $(BIN)/.installed
	@echo "== pytest on the oldest and newest supported Python, Django and Wagtail"
	PATH="$$(printf '%s:' $(PYENV_BINS))$$PATH" $(BIN)/tox run -m ci \
		--skip-missing-interpreters false -- -m "not browser" -q

# On demand, not in CI: plain Wagtail serving the same HTML against personalised pages, by the
# clock and by callgrind's instruction counts (docs/concepts/performance.md); about 15 minutes.
benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py --instructions --profile

docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir build/docs

clean:
	rm -rf $(VENV) .tox build sandbox/db.sqlite3 sandbox/media sandbox/static test-artifacts .coverage node_modules
