# vidaug: two commands set everything up on a fresh machine.
#   make demo   create .venv, install, augment the bundled sample clips (offline)
#   make test   create .venv, install with dev extras, run pytest
#   make tour   make the README examples' inputs (mix/, clips/, unseen/, tracks.csv)
#               from the bundled sample clips (offline)
#   make bench  run the speed benchmarks (results: benchmarks/RESULTS.md); also
#               bench-mining, bench-scale and bench-training (need ../shared)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_OUT ?= demo_out
PYTEST_ARGS ?=

.PHONY: demo test tour bench bench-mining bench-scale bench-training lint clean venv

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	@samples=$$($(PY) -c "from vidaug.datasets import sample_clips_dir; print(sample_clips_dir())"); \
	echo "augmenting the bundled sample clips in $$samples"; \
	$(VENV)/bin/vidaug augment "$$samples" $(DEMO_OUT) --recipe surveillance --copies 2 --seed 0 --workers 2 --overwrite
	@echo
	@echo "outputs:  $(abspath $(DEMO_OUT))/  (mp4 clips)"
	@echo "manifest: $(abspath $(DEMO_OUT))/manifest.jsonl  (one row per clip: source, label, seed, params)"

tour: $(VENV)/.installed
	$(PY) docs/tour_data.py .
	@echo "now activate the environment (source $(VENV)/bin/activate, so vidaug is on PATH)"
	@echo "and run the README's examples from here (see its 30-second tours)"

test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(PY) benchmarks/augment_bench.py

# Slower, and they need ../shared (real clips, MobileNetV2 weights); results go to RESULTS.md.
bench-mining: $(VENV)/.installed-dev
	$(PY) benchmarks/mining_bench.py
	$(PY) benchmarks/embed_bench.py
	$(PY) benchmarks/dedup_calibration.py

# End to end, long recordings and the Ray engine (results: benchmarks/RESULTS.md); the one-hour
# recording takes about two hours on 2 cores: `$(PY) benchmarks/long_recording.py --seconds 3600`.
bench-scale: $(VENV)/.installed-dev
	$(PY) benchmarks/e2e_bench.py --write
	$(PY) benchmarks/long_recording.py --seconds 30 300 --write
	$(PY) benchmarks/ray_bench.py --write

bench-training: $(VENV)/.installed-dev
	$(PY) benchmarks/hook_overhead.py
	$(PY) benchmarks/training_cv.py
	$(PY) benchmarks/dirty_data.py --write

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check vidaug tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache *.egg-info
	rm -rf mix clips unseen tracks.csv samples.index samples.dups.* curated dups.* hard.html \
	  sheet.png side.gif motion.keras* plain.keras* motion*.tflite plain*.tflite hook.jsonl out cleaned
