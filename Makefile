# Neural Playground: `make run` launches the app, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench package package-fresh package-test icons clean

# `make run` needs only the app; `make test` adds the test extras.
$(RUN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(TEST_STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/playground

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check playground tests benchmarks
	$(VENV)/bin/ruff format --check playground tests benchmarks
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n 2 -q

bench: $(RUN_STAMP)
	$(VENV)/bin/playground bench

package:
	bash packaging/build.sh

package-fresh:
	bash packaging/build.sh --fresh

package-test:
	bash packaging/package_test.sh

icons:
	bash packaging/icons/make_icons.sh

clean:
	rm -rf build dist $(VENV) .pytest_cache
