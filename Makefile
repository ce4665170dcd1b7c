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

.PHONY: install demo test lint typecheck docs bench faces faces-light gallery clean

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
	$(BIN)/python -m pytest --cov=rgb2depth --cov-report=term

typecheck: $(STAMP)
	$(BIN)/mypy src/rgb2depth

# Rewrite docs/bad-inputs.md from what the commands print (the test fails when it is stale).
docs: $(STAMP)
	RGB2DEPTH_WRITE_DOCS=1 $(BIN)/python -m pytest -q tests/test_bad_inputs.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_memory.py

# Retrain the bundled default model `faces` (128x128 face crops, three stages: absolute
# depth; the relief with a shift-invariant loss; the same with depth-free marks painted
# on the albedo) and rebuild its model card (about 7 min of data, then 53 + 12 min of
# training on 2 CPU cores, and 20 min for stage 3 on one core beside another job).
faces: $(STAMP)
	$(BIN)/rgb2depth train configs/faces-stage1.yaml
	$(BIN)/rgb2depth train configs/faces.yaml
	$(BIN)/rgb2depth train configs/faces-decals.yaml
	$(BIN)/python scripts/bundle_model.py runs/faces-decals/model \
		--data outputs/data/faces-crops-128 --name faces --config configs/faces-decals.yaml

# Regenerate docs/gallery.md: depth and 3D views for the real photos in docs/gallery/photos.
gallery: $(STAMP)
	$(BIN)/python scripts/gallery.py

# Retrain the realtime model `faces-light` (64x64, whole frames) and rebuild its model card
# (about 40 min on 2 CPU cores).
faces-light: $(STAMP)
	$(BIN)/rgb2depth train configs/faces-light.yaml
	$(BIN)/python scripts/bundle_model.py runs/faces-light/model --data outputs/data/faces-64 \
		--name faces-light --config configs/faces-light.yaml

clean:
	rm -rf $(VENV) outputs
