# Two entry points for a fresh machine: `make run` and `make test`.
# Each creates its own virtual environment in .venv, so nothing is installed system-wide.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## run: the main job on the embedded default (SQLite file loyalty.db, sample data, the API serving)
run: $(STAMP)
	$(BIN)/loyalty db upgrade
	$(BIN)/loyalty rules check
	$(BIN)/loyalty demo --customers 2000 --if-absent
	$(BIN)/loyalty run-daily
	@echo "A marketing key to try the API with (shown once):"
	@$(BIN)/loyalty keys create --role marketing
	$(BIN)/loyalty serve

## test: import contracts, then the whole suite (PostgreSQL variants run when LOYALTY_TEST_POSTGRES_URL is set)
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/pytest

clean:
	rm -rf $(VENV) loyalty.db loyalty.db-* .pytest_cache .hypothesis
