# procmem: `make demo` and `make test` each set up (system EGL libraries, .venv), then run.
# `make faults` runs issue 12's fault campaign (about an hour here; ARGS="--quick" for minutes).
PY := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test faults bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m procmem demo $(if $(DATA),--data $(DATA),)

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

faults: setup
	$(PY) -m tests.faults.campaign $(ARGS)

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .venv build *.egg-info .pytest_cache demo-out
