# One entry point for people and CI. `make run` and `make test` install what
# they need into .venv first, so both work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install run chat test screenshots lint fuzz bench bench-quick bench-deps crash crash-many clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

# The sandboxed server: no credentials, the built-in Graph API simulator stands
# in for Facebook (only because --sandbox asks for it). Talk to it from another
# terminal with `pageflows simulator say`.
FLOWS ?= examples/flows
run: install
	$(BIN)/pageflows check $(FLOWS)
	$(BIN)/pageflows serve --sandbox $(FLOWS)

chat: install
	$(BIN)/pageflows chat $(FLOWS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The storage and end-to-end suites run on SQLite and on a real PostgreSQL
# server, which .ci/postgres.sh starts (installing Debian's packages if needed).
# The suite runs on PYTEST_WORKERS processes (pytest-xdist; `auto` is one per
# core): every test has its own temp folder, PostgreSQL database and free ports,
# so they may run side by side (docs/testing.md, "In parallel"). One process took
# 13 minutes of CI's 15 (2 cores); two took 11 on a quiet machine: the crash short
# forms (~8 of those minutes) wait on real time, not on the CPU.
# `make test PYTEST_WORKERS=0` runs it in one process, as before.
PYTEST_WORKERS ?= auto
test: lint
	eval "$$(bash .ci/postgres.sh)" && eval "$$(bash .ci/chromium.sh)" && \
		$(BIN)/pytest -n $(PYTEST_WORKERS)

# The web console's pages as the browser tests see them, into docs/screenshots (README).
screenshots: install
	eval "$$(bash .ci/chromium.sh)" && PAGEFLOWS_SCREENSHOTS=docs/screenshots \
		$(BIN)/pytest -q -o addopts="" tests/browser

# The long form of tests/property/test_webhook_over_http.py: 10,000 generated and
# mutated webhook bodies over HTTP per database; prints the tally for each.
fuzz: install
	eval "$$(bash .ci/postgres.sh)" && PAGEFLOWS_FUZZ_EXAMPLES=$${PAGEFLOWS_FUZZ_EXAMPLES:-10000} \
		$(BIN)/pytest -q -s tests/property/test_webhook_over_http.py
	PAGEFLOWS_AGREE_EXAMPLES=$${PAGEFLOWS_AGREE_EXAMPLES:-2000} \
		$(BIN)/pytest -q -s tests/property/test_engine_agrees_with_simulator.py

# The long crash test: real `pageflows serve` processes SIGKILLed dozens of times while
# webhooks stream in, on SQLite and PostgreSQL (docs/reliability.md). `make test` runs
# the short form. Override e.g. `make crash CRASH_ARGS="--duration 60 --kills 10"`.
# 10 events/s owe 20 messages/s: within the page pace of 40/s (the default pace, 20/s,
# could not keep up with 2 messages per event at 20 events/s, so nothing could drain).
CRASH_ARGS ?= --duration 300 --kills 40 --rate 10 --page-rate 40
crash: install
	eval "$$(bash .ci/postgres.sh)" && $(PY) -m tests.crash --database sqlite \
		--database postgresql $(CRASH_ARGS) --workdir .crash --json .crash/results.json
	eval "$$(bash .ci/postgres.sh)" && PAGEFLOWS_CRASH_LONG=1 $(BIN)/pytest -q \
		tests/crash/test_broadcast_kill.py

# The same with many processes on one PostgreSQL database: `serve --web-only --workers 2`
# in front of four `pageflows worker` processes. First random workers are SIGKILLed (the
# webhook stays), then every process is SIGTERMed in turn (a rolling restart, each must
# exit 0 and leave nothing in doubt), then every database session is cut now and then
# (a failover: nothing may be lost or failed for it). Contacts write in order and the
# order of their replies is judged; no process may log an error (while the database is
# cut, no collision). `make test` runs the short forms (tests/crash/test_many_processes.py).
# Override e.g. `make crash-many CRASH_MANY_ARGS="--duration 60 --seed 3"`.
CRASH_MANY_ARGS ?= --duration 300 --rate 12 --page-rate 40
crash-many: install
	eval "$$(bash .ci/postgres.sh)" && \
	$(PY) -m tests.crash --database postgresql --topology web2+workers4 --kills 40 \
		$(CRASH_MANY_ARGS) --workdir .crash/many-kills --json .crash/many-kills.json && \
	$(PY) -m tests.crash --database postgresql --topology web2+workers4 --kills 0 \
		--restarts 30 $(CRASH_MANY_ARGS) --workdir .crash/many-rolling \
		--json .crash/many-rolling.json && \
	$(PY) -m tests.crash --database postgresql --topology web2+workers4 --kills 0 \
		--blips 40 $(CRASH_MANY_ARGS) --workdir .crash/many-blips --json .crash/many-blips.json

# Benchmarks (docs/performance.md): each prints its figures against a baseline measured in
# the same run and merges them into bench/results.json. `bench-quick` runs every one of
# them small and short (under a minute in all); `bench` the long form. Add new ones to BENCHES.
BENCHES ?= bench/bench_matching.py bench/bench_check.py bench/bench_ingest.py bench/bench_worker.py \
	bench/bench_followups.py bench/bench_broadcast.py bench/bench_workers.py
bench-deps: install
	$(PY) -m pip install -q -e ".[bench]"

bench: bench-deps
	@for b in $(BENCHES); do echo "== $$b"; $(PY) $$b || exit 1; done

bench-quick: bench-deps
	@for b in $(BENCHES); do echo "== $$b --quick"; $(PY) $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .crash
