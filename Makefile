# Everything bootstraps .venv from a fresh clone with only Python 3.10+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The venv is refreshed when pyproject.toml or the set of modules under adapters/ changes.
ADAPTER_MODULES := $(sort $(wildcard adapters/*.py adapters/*/*.py))

.PHONY: demo test lint typecheck docs docs-sync pytest ci wheel install-check bench profile services \
	mutation clean FORCE

demo: $(STAMP)
	$(BIN)/bwhooks demo

test: lint typecheck docs pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The docs' example blocks rewritten from their files (tests/doc_blocks.py says how a block
# is marked); tests/test_docs.py fails while one differs.
docs-sync: $(STAMP)
	$(BIN)/python tests/doc_blocks.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

# The suite under coverage, the processes it starts included; under the floor of
# pyproject.toml ([tool.coverage.report] fail_under) the report fails the run.
pytest: $(STAMP) services
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest -q -m "not soak"
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

# What the tests start themselves, installed once (Debian): redis-server, and the headless
# browser that drives the inspector page (chromium and its matching chromium-driver).
services:
	@command -v redis-server >/dev/null || [ "$$(id -u)" != 0 ] || { \
		apt-get install -y -q redis-server >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }; \
		service redis-server stop >/dev/null 2>&1 || true; }
	@command -v redis-server >/dev/null \
		|| { echo "the tests need redis-server: apt-get install redis-server"; false; }
	@{ command -v chromium && command -v chromedriver; } >/dev/null || [ "$$(id -u)" != 0 ] || \
		apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }
	@{ command -v chromium && command -v chromedriver; } >/dev/null \
		|| { echo "the tests need chromium: apt-get install chromium chromium-driver"; false; }

# What is too slow for every edit: the README's install line, the suite on the other
# Pythons, the wheel check.
ci: test install-check
	$(BIN)/nox --non-interactive

# The wheel a user installs (README): dist/bwhooks-<version>-py3-none-any.whl, built from the
# sdist written beside it (a wheel built in the tree would take in whatever a former build
# left under build/lib), with the dev extra's `build`.
wheel: $(STAMP)
	rm -f dist/bwhooks-*.whl dist/bwhooks-*.tar.gz
	$(BIN)/python -m build --quiet --outdir dist .

# The README's install line, both forms (the checkout, the wheel of `make wheel`), each into a
# new clean venv from PyPI, then the README's snippet run with that venv (tests/readme_install.py,
# which `make test` does not collect: it runs the snippet with .venv only).
install-check: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/readme_install.py

# The benchmark suite (bench/): ratios against baselines measured in the same run.
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null; } \
		|| echo "wrk unavailable: the HTTP benchmarks will be skipped"
	cd bench && ../$(BIN)/pytest -q

# Where each benchmark row's time goes (cProfile, grouped by module).
profile: $(VENV)/.bench
	cd bench && ../$(BIN)/python profile_rows.py

# Mutation testing of the request path (CONTRIBUTING.md, "Mutation testing"): mutmut over
# receiver, checks, dispatch, answers, duplicates, auth, body and the decoding modules
# ([tool.mutmut] in pyproject.toml), at nice 10 on two workers; then every surviving mutant
# must be one CONTRIBUTING.md lists.
# MUTANTS: only the mutants of these name patterns (CI's bounded run).
MUTANTS ?=
mutation: $(VENV)/.mutation
	PATH="$(CURDIR)/$(BIN):$$PATH" nice -n 10 $(BIN)/mutmut run --max-children 2 \
		$(foreach pattern,$(MUTANTS),'$(pattern)')
	$(BIN)/python tests/mutation_survivors.py

$(VENV)/.mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,mutation]"
	touch $@

$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

$(VENV)/.adapters: FORCE
	@mkdir -p $(VENV)
	@echo '$(ADAPTER_MODULES)' | cmp -s - $@ || echo '$(ADAPTER_MODULES)' > $@

$(STAMP): pyproject.toml $(VENV)/.adapters
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) build dist .nox .mypy_cache .ruff_cache .pytest_cache mutants .coverage .coverage.*
