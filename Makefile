# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv and install the
# exact-pinned lock once; the install is redone only when requirements.lock changes (hash stamp).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK_HASH := $(shell sha256sum requirements.lock | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)

.PHONY: install demo test test-tf test-jax test-slow test-all clean
# Model code is backend-agnostic (keras.layers / keras.ops): these run again on the JAX backend, in
# CI the files of tests/conftest.py JAX_IN_CI, the rest in the slow tier.
BACKEND_TESTS := tests/test_families.py tests/test_decoding.py tests/test_ensemble.py tests/test_arrays.py \
	tests/test_fronts.py tests/test_sources.py
# The toy-task trainings, and the longer-strings comparison built on them, run on TensorFlow only
# (about 6 minutes more on JAX); `make test-slow JAX_SELECT=` runs them on JAX too.
JAX_SELECT := -k "not learns_the_toy_tasks and not attention_beats"

install: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "installed requirements.lock ($(LOCK_HASH)) into $(VENV)"

# Prints only the answer: the zoo CLI itself keeps TensorFlow's start-up log quiet (zoo/cli.py), so a user
# who runs .venv/bin/zoo directly sees the same; TF_CPP_MIN_LOG_LEVEL=0 make demo shows that log.
demo: install
	@$(VENV)/bin/zoo predict g2p-luong seq2seq tensorflow attention

test: test-tf test-jax

# The slow tier (tests/conftest.py SLOW: long trainings, the same path on more models, whole-split
# reproductions; on JAX all but JAX_IN_CI) stays out of `make test`, which CI runs, to keep it under 30
# minutes on 2 cores; `make test-all` runs both tiers: run it before landing a change to training, a
# family, decoding or a pretrained model.
TIER := -m "not slow"
test-slow: install
	$(PYTEST) --ignore tests/test_arrays.py -m slow
	KERAS_BACKEND=jax $(PYTEST) -p no:cacheprovider $(BACKEND_TESTS) $(JAX_SELECT) -m slow

test-all: test test-slow

# Two workers, one test file each at a time (--dist loadfile), so a file's fixtures (trained toy
# models, loaded pretrained models) are made once; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# tests/test_arrays.py trains through zoo/training/arrays.py, the path for JAX on a GPU: it runs in
# test-jax, the backend it exists for (its TensorFlow run took about a minute and a half more).
test-tf: install
	$(PYTEST) --ignore tests/test_arrays.py $(TIER)

test-jax: install
	KERAS_BACKEND=jax $(PYTEST) -p no:cacheprovider $(BACKEND_TESTS) $(JAX_SELECT) $(TIER)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
