# The two set-up commands:  make run  (install, train the default models, serve)
#                           make test (install, run the test suite)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODELS ?= models
export WORDLENS_MODELS := $(MODELS)

.PHONY: install models run test test-slow lint format bench lock clean

# The exact versions of requirements-dev.lock (checked against their hashes), then
# wordlens itself without resolving anything again.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Pin the newest versions pyproject.toml allows, with their hashes: everything
# (requirements-dev.lock, used by make install), then the same versions of the
# pipeline's (requirements-train.lock) and of the server's alone (requirements.lock),
# which the Dockerfile's stages install.
LOCK := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet
lock: install
	$(BIN)/pip install --quiet "uv>=0.9"
	$(LOCK) --extra dev -o requirements-dev.lock
	$(LOCK) --extra train -c requirements-dev.lock -o requirements-train.lock
	$(LOCK) -c requirements-dev.lock -o requirements.lock

# Train the default models on the shipped English corpus, unless they exist.
models: install
	@for kind in pmi word2vec; do \
	  if [ -f $(MODELS)/$$kind/manifest.json ]; then echo "$(MODELS)/$$kind exists"; \
	  else $(BIN)/wordlens train $$kind --out $(MODELS)/$$kind || exit 1; fi; \
	done

# Serve on http://127.0.0.1:8000 (HOST, PORT and WORKERS override).
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
run: models
	$(BIN)/wordlens serve --models $(MODELS) --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: install
	$(BIN)/python -m pytest -q

# The tests that train on the whole shipped corpus (about 2 minutes more).
test-slow: install
	$(BIN)/python -m pytest -q -m slow

# ruff (lint and format), mypy, import-linter's layer and cycle contracts, and
# hadolint on the Dockerfile (every rule, warnings and infos included).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/hadolint --no-color Dockerfile

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
