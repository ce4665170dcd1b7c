# The two set-up commands of the README:
#   make demo   create .venv, install, run the main job on the bundled default
#   make test   install (if needed) and run the test suite
# torch is installed first and pinned (a plain `torch` would pull the CUDA stack
# on a CPU-only machine); on a machine with a GPU and internet the same pin gets
# the registry's CUDA build.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rgb2depth-installed
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/rgb2depth demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(VENV) outputs
