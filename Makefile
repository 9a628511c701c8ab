# Two commands on a fresh machine: `make demo` and `make test` (both set everything up first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit system-deps bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Set up and run the offline demo (a two-day scenario replayed in under a minute).
demo: $(STAMP)
	$(BIN)/oki-monitor demo

## Set up and run every check CI runs: lint, types, the test suite (SQLite, PostgreSQL, SMTP, browser).
test: $(STAMP) system-deps lint typecheck unit

system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy's incremental cache lives beside the user's other caches, not in the checkout: a fresh clone (CI)
# or a second worktree then checks only what differs instead of ~24 s of CPU from nothing. The cache is
# safe to share: mypy re-validates every entry by the source's hash when its path or mtime differ,
# discards entries of another mypy version or other options, and writes each entry atomically.
MYPY_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/oki-monitor/mypy
typecheck: $(STAMP)
	MYPY_CACHE_DIR="$(MYPY_CACHE_DIR)" $(BIN)/mypy

# pytest-xdist workers (TEST_WORKERS, below); TEST_WORKERS=0 runs in this process. loadgroup hands out single
# tests, so one big module (the hostile-response catalogue) no longer keeps one core busy while the other
# idles; a module with an expensive module- or session-scoped fixture (the demo run, a trained model, a
# built wheel) is marked xdist_group and stays on one worker, which builds it once.
# PYTHONDONTWRITEBYTECODE (set in some shells) would make every test process (the workers and each
# subprocess a test starts) compile the project and pytest's rewritten test modules from source again,
# ~2 s of CPU each; their bytecode goes to the __pycache__ folders git ignores.
# In a fresh clone every worker would compile the whole project at once, each for itself (~6 s of CPU a
# worker); compileall does it once, on every core, in about a second, and only stats files afterwards.
# One worker per core. A third worker on two cores fills the quarter of worker time spent waiting (3 min 46 s
# against 3 min 57 s - 4 min 4 s, idle, same CPU), but the heavier contention made two races between tests
# show in two of four CI runs (both fixed since); TEST_WORKERS=3 runs it so.
TEST_WORKERS ?= auto
unit: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 alerts classifiers collectors monitor migrations tests > /dev/null
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

## Benchmarks (on demand, never in CI): writes bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## Long runs (on demand): 30-minute soak at 10x volume, memory after a replayed day, 50 random kill -9s.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 30
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/kill_repeat.py --kills 50
	$(BIN)/python bench/kill_path.py --kills 50

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
