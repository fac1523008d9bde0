# omeconv developer tasks. `make demo` sets up and converts the shipped sample; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLE := sample_data/cells_3ch_z16.ome.tif
DEMO_OUT ?= out/cells.ome.zarr

.PHONY: install demo test test-fast lint format type check bench clean

$(BIN)/omeconv: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/omeconv

demo: install
	$(BIN)/omeconv tiff2zarr $(SAMPLE) $(DEMO_OUT) --overwrite --levels 3
	$(BIN)/omeconv info $(DEMO_OUT)
	$(BIN)/omeconv validate $(DEMO_OUT)

test: install
	$(BIN)/python -m pytest -n 2 -q

test-fast: install
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

lint: install
	$(BIN)/ruff check omeconv tests bench sample_data
	$(BIN)/ruff format --check omeconv tests bench sample_data

format: install
	$(BIN)/ruff check --fix omeconv tests bench sample_data
	$(BIN)/ruff format omeconv tests bench sample_data

type: install
	$(BIN)/mypy

check: lint type test

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.upgrade $(BENCH_ARGS_UPGRADE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
