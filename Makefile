# Two commands set up a fresh machine: `make run` (the product) and `make test` (the tests).
VENV    := .venv
PY      := $(VENV)/bin/python
MARA    := $(VENV)/bin/mara
STAMP   := $(VENV)/.installed
export MARA_HOME ?= .mara
PYTEST_ARGS ?=
# Two worker processes (pytest-xdist), each taking whole test files so a module's fixtures are
# built once; `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2

.PHONY: install run test lint typecheck bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: install
	@test -f $(MARA_HOME)/warehouse.duckdb || $(MARA) demo
	$(MARA) serve --host 127.0.0.1 --port 8000

demo: install
	$(MARA) demo

test: install
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; exit 1; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check foundation assistant tools prompts knowledge api tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench_cli.py
	$(PY) benchmarks/bench_demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
