# Neural Playground: `make run` launches the app, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench package package-fresh package-test icons clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/playground

lint: $(STAMP)
	$(VENV)/bin/ruff check playground tests benchmarks
	$(VENV)/bin/ruff format --check playground tests benchmarks
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n 2 -q

bench: $(STAMP)
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
