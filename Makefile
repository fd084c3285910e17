# mcfcheck: `make run` validates the shipped samples, `make test` runs the test suite.
#
# Two virtual environments. .venv/ holds mcfcheck installed editable, with the development
# tools: it runs the sources as they are, as plain Python (nothing is built beside them),
# and the linters and type checks. build/wheel-venv/ holds the wheel that `pip install .`
# gives, built from the sources with the modules compiled by mypyc and mcfcheck's C module
# (hatch_build.py), installed with the test tools as a user installs it: `make run`,
# `make bench` and the test suite run there, on the fast build that users get.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test wheel browser postgresql terminal sarif-validator lint typecheck samples docs bench \
	bench-small bench-dialects bench-memory fuzz differential clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Extension modules once compiled beside the sources would shadow them: development runs the sources.
	@find src -name '*.so' -delete
	@rm -rf src/build src/.compiled
	touch $(STAMP)

## wheel: the wheel in build/wheel/, as `pip wheel .` builds it: the modules that run once per
## installation compiled with mypyc, and the C module that reads installations from libxml2's
## tree (src/mcfcheck/native/_fastread.c, against lxml's headers), beside the sources. What
## cannot be built is left out with a one-line message (the log, build/wheel.log, says why):
## without a C compiler and Python's headers the wheel is pure Python; without lxml's headers
## it reads installations through lxml's Python API. The findings are the same (but for the
## lines, beyond line 65,535, of elements that hold others: see the README); only the speed
## differs. build/wheel-build says what the wheel holds: "compiled" (both), "mypyc" (the
## modules only) or "plain". The wheel is then installed, with the test tools, into
## build/wheel-venv/ (made the first time; mcfcheck replaced whole at each new wheel).
WHEEL_DIR := build/wheel
WHEEL_BUILD := build/wheel-build
WHEEL_VENV := build/wheel-venv
WHEEL_BIN := $(WHEEL_VENV)/bin
WHEEL_STAMP := $(WHEEL_VENV)/.installed
WHEEL_SOURCES := pyproject.toml hatch_build.py README.md $(shell find src/mcfcheck schemas -type f \( -name '*.py' \
	-o -name '*.pyi' -o -name '*.c' -o -name '*.toml' -o -name '*.json' -o -name '*.xsd' -o -name py.typed \))
$(WHEEL_STAMP): $(STAMP) $(WHEEL_SOURCES)
	@rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	@echo "building the wheel: mypyc compiles the modules, then the C module (about two minutes; log in build/wheel.log)"
	@$(BIN)/python -m pip wheel --verbose --no-deps --wheel-dir $(WHEEL_DIR) . > build/wheel.log 2>&1 || \
		{ tail -n 30 build/wheel.log; echo "make wheel: the wheel could not be built (see build/wheel.log)"; exit 1; }
	@sed -n 's/^ *\(mcfcheck build: .*\)/\1/p' build/wheel.log
	@listing=$$($(BIN)/python -m zipfile -l $(WHEEL_DIR)/mcfcheck-*.whl); \
		if echo "$$listing" | grep -q '^mcfcheck/native/_fastread\.[^ ]*\.so '; then echo compiled; \
		elif echo "$$listing" | grep -q '\.so '; then echo mypyc; else echo plain; fi > $(WHEEL_BUILD)
	@echo "the wheel: $$(ls $(WHEEL_DIR)) ($$(cat $(WHEEL_BUILD)))"
	@[ -x $(WHEEL_BIN)/python ] || { $(PYTHON) -m venv $(WHEEL_VENV) && \
		$(WHEEL_BIN)/python -m pip install --quiet --upgrade pip; }
	$(WHEEL_BIN)/python -m pip install --quiet "$$(ls $(WHEEL_DIR)/mcfcheck-*.whl)[dev]"
	$(WHEEL_BIN)/python -m pip install --quiet --force-reinstall --no-deps $(WHEEL_DIR)/mcfcheck-*.whl
	touch $@
wheel: $(WHEEL_STAMP)

## run: validate every shipped sample with the installed wheel; the *-valid files must pass,
## the *-invalid files must fail
run: wheel
	$(WHEEL_BIN)/mcfcheck --version
	$(WHEEL_BIN)/mcfcheck validate samples/*-valid.xml
	$(WHEEL_BIN)/mcfcheck validate $(filter-out samples/EPC%,$(wildcard samples/*-invalid.xml)); test $$? -eq 1
	$(WHEEL_BIN)/mcfcheck validate samples/EPC001-*-invalid.xml --epcl $(wildcard samples/EPC001-*.csv); test $$? -eq 1

## test: linters, strict type checks, then the test suite on the installed wheel (MCFCHECK_BUILD
## says what the wheel holds, MCFCHECK_WHEEL which file it is), and the tests of which build
## runs once more on the sources in .venv/ (plain Python, nothing compiled beside them); the
## PostgreSQL ledger's tests fail, not skip, where their server cannot start
test: lint typecheck browser postgresql terminal sarif-validator wheel
	MCFCHECK_BUILD=plain $(BIN)/python -m pytest tests/test_native.py
	MCFCHECK_BUILD=$$(cat $(WHEEL_BUILD)) MCFCHECK_WHEEL=$$(ls $(WHEEL_DIR)/mcfcheck-*.whl) MCFCHECK_POSTGRESQL=required \
		$(WHEEL_BIN)/python -m pytest

## browser: Debian's Chromium, in which the tests open the HTML report (installed if missing)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium package for the HTML report's tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

## postgresql: Debian's PostgreSQL server programs (initdb, pg_ctl), installed if missing: the tests
## start a server of their own on them, in a temporary folder (tests/postgresql.py)
postgresql:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql package for the PostgreSQL ledger's tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

## terminal: tmux, the terminal the tests run mcfcheck in to read its screen back (installed if missing)
terminal:
	@command -v tmux >/dev/null || { \
		echo "installing Debian's tmux package for the terminal display's tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends tmux >/dev/null; }

## sarif-validator: the SARIF Multitool, which the tests check SARIF reports with, from the npm
## registry into node_modules/ (the version package-lock.json pins); npm installed if missing
SARIF_STAMP := node_modules/.installed
$(SARIF_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { \
		echo "installing Debian's npm package for the SARIF validator"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@
sarif-validator: $(SARIF_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## samples: regenerate the shipped samples (deterministic)
samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

## docs: the screenshots of the HTML report and of the stats page in docs/
docs: wheel browser
	$(WHEEL_BIN)/python docs/report_screenshot.py

## bench: memory and speed against peers on generated files (see BENCHMARKS.md)
bench: wheel
	$(WHEEL_BIN)/python bench/run.py

## bench-small: one small file and 2,000 of them, against xmllint (installed with apt-get when missing)
bench-small: wheel
	$(WHEEL_BIN)/python bench/small.py

## bench-dialects: the same content validated in mcfcheck's own dialect and in a second one
bench-dialects: wheel
	$(WHEEL_BIN)/python bench/dialects.py --size 100 --rounds 7 --jobs 1

## bench-memory: peak memory on a file whose identifiers all repeat and on one with a
## comment after every installation, against a normal file of the same size; SIZE in MB
SIZE ?= 1000
bench-memory: wheel
	$(WHEEL_BIN)/python bench/memory.py --size $(SIZE)

## fuzz: a coverage-guided fuzzing run (atheris) seeded with the samples; FUZZ_SECONDS long
FUZZ_SECONDS ?= 300
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris
	mkdir -p fuzz/corpus
	cp samples/*.xml fuzz/corpus/
	cd fuzz && ../$(BIN)/python fuzz_validate.py corpus -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048

## differential: the differential tests with DIFFERENTIAL_EXAMPLES random examples each (make test
## runs them derandomized, a few hundred in all): mcfcheck's schema verdict against libxml2 on the
## whole document, and --jobs 2 against --jobs 1 (see FUZZING.md)
DIFFERENTIAL_EXAMPLES ?= 2000
differential: wheel
	MCFCHECK_BUILD=$$(cat $(WHEEL_BUILD)) MCFCHECK_DIFFERENTIAL_EXAMPLES=$(DIFFERENTIAL_EXAMPLES) \
		$(WHEEL_BIN)/python -m pytest tests/test_differential.py

clean:
	rm -rf $(VENV) build node_modules .pytest_cache .mypy_cache .ruff_cache bench/data fuzz/corpus
