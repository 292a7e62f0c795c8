# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench fuzz docs install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch==2.13.0 is the CPU build these machines keep on disk (any other spec downloads gigabytes);
# the tests use it as an oracle for the layers, and Keras 3 runs on it (KERAS_BACKEND=torch).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test,docs,safetensors,onnx]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/chainrule train

test: $(STAMP)
	$(BIN)/python -m pytest -n auto

# Coverage-guided fuzzing (atheris) of the readers of untrusted files: model files, IDX, CIFAR-10, CSV,
# safetensors weights, chainrule.torch.load.
# `make test` runs a short deterministic pass over the same targets (tests/fuzz/test_fuzz.py).
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	@for t in model idx cifar csv safetensors torch; do \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
		$(BIN)/python tests/fuzz/fuzz.py $$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-print_final_stats=1 || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/mlp.py
	$(BIN)/python bench/sklearn_mlp.py
	$(BIN)/python bench/cnn.py
	$(BIN)/python bench/rnn.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/threads.py

# The documentation site (Sphinx, offline: no intersphinx, no downloads), into docs/_build/html.
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) build *.egg-info docs/_build
