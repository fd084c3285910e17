# mcfcheck: `make run` validates the shipped samples, `make test` runs the test suite.
# Both create their own virtual environment in .venv/ first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser postgresql compile lint typecheck samples docs bench bench-dialects bench-memory fuzz differential clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## compile: the modules that run once per installation, compiled with mypyc beside their
## sources (Python imports an extension module first), and the C module that reads
## installations from libxml2's tree (src/mcfcheck/native/_fastread.c, against lxml's headers).
## What cannot be built is left out with a one-line message: without a C compiler
## mcfcheck runs as plain Python; without lxml's headers it reads installations through
## lxml's Python API. The findings are the same (but for the lines, beyond line 65,535, of
## elements that hold others: see the README); only the speed differs. The stamp says
## what was built: "compiled" (both), "mypyc" (the modules only) or "plain".
COMPILED := mcfcheck/rules/identifiers.py mcfcheck/check/columns.py mcfcheck/check/file.py \
	mcfcheck/check/places.py mcfcheck/check/tree.py \
	mcfcheck/rules/views.py mcfcheck/rules/engine.py mcfcheck/rules/ledger.py mcfcheck/rules/keys.py \
	mcfcheck/rules/statistics.py mcfcheck/rules/records.py mcfcheck/rules/fingerprints.py mcfcheck/rules/reshape.py \
	mcfcheck/input/cut.py mcfcheck/run/extract.py mcfcheck/rules/holdings.py \
	$(patsubst src/%,%,$(filter-out %/__init__.py,$(wildcard src/mcfcheck/rules/packs/*.py)))
COMPILED_STAMP := src/.compiled
$(COMPILED_STAMP): $(STAMP) Makefile $(addprefix src/,$(COMPILED)) src/mcfcheck/native/_fastread.c tools/build_extension.py
	@echo "compiling $(words $(COMPILED)) modules with mypyc and one C module (about a minute; log in src/build/mypyc.log)"
	@mkdir -p src/build
	@find src -name '*.so' -delete
	@if (cd src && ../$(BIN)/mypyc $(COMPILED) > build/mypyc.log 2>&1); then \
		if $(BIN)/python tools/build_extension.py >> src/build/mypyc.log 2>&1; then echo compiled > $@; else \
			echo mypyc > $@; \
			echo "make compile: the C reader could not be built (it needs lxml's headers; see" \
				"src/build/mypyc.log): installations are read through lxml's Python API"; fi; \
	else \
		find src -name '*.so' -delete; echo plain > $@; \
		echo "make compile: could not compile (it needs a C compiler and Python's headers; see" \
			"src/build/mypyc.log): mcfcheck runs as plain Python"; fi

## Bytecode for every module, written here once: Python does not write it where
## PYTHONDONTWRITEBYTECODE is set, and compiling mcfcheck's sources at every start took
## about 0.15 s of CPU per run. Python still checks each file's bytecode against its source.
BYTECODE_STAMP := src/build/bytecode
$(BYTECODE_STAMP): $(COMPILED_STAMP) $(shell find src/mcfcheck -name '*.py')
	@mkdir -p src/build
	@$(BIN)/python -m compileall -q src/mcfcheck > /dev/null
	@touch $@
compile: $(COMPILED_STAMP) $(BYTECODE_STAMP)

## run: validate every shipped sample; the *-valid files must pass, the *-invalid files must fail
run: compile
	$(BIN)/mcfcheck validate samples/*-valid.xml
	$(BIN)/mcfcheck validate $(filter-out samples/EPC%,$(wildcard samples/*-invalid.xml)); test $$? -eq 1
	$(BIN)/mcfcheck validate samples/EPC001-*-invalid.xml --epcl $(wildcard samples/EPC001-*.csv); test $$? -eq 1

## test: linters, strict type checks and the test suite (the PostgreSQL ledger's tests fail, not skip,
## where their server cannot start)
test: lint typecheck browser postgresql compile
	MCFCHECK_BUILD=$$(cat $(COMPILED_STAMP)) MCFCHECK_POSTGRESQL=required $(BIN)/python -m pytest

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
docs: compile browser
	$(BIN)/python docs/report_screenshot.py

## bench: memory and speed against peers on generated files (see BENCHMARKS.md)
bench: compile
	$(BIN)/python bench/run.py

## bench-dialects: the same content validated in mcfcheck's own dialect and in a second one
bench-dialects: compile
	$(BIN)/python bench/dialects.py --size 100 --rounds 7 --jobs 1

## bench-memory: peak memory on a file whose identifiers all repeat and on one with a
## comment after every installation, against a normal file of the same size; SIZE in MB
SIZE ?= 1000
bench-memory: compile
	$(BIN)/python bench/memory.py --size $(SIZE)

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
differential: compile
	MCFCHECK_BUILD=$$(cat $(COMPILED_STAMP)) MCFCHECK_DIFFERENTIAL_EXAMPLES=$(DIFFERENTIAL_EXAMPLES) \
		$(BIN)/python -m pytest tests/test_differential.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench/data fuzz/corpus src/build $(COMPILED_STAMP)
	find src -name '*.so' -delete
