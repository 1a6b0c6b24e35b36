# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-postgres test-browser install translations messages lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations

# Refresh the English catalogue after adding or changing text.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-by-file -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l en --no-fuzzy-matching

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(BIN)/python -m portal.run

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgres: install
	PORTAL_TEST_DATABASE_URL=$${PORTAL_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
		$(BIN)/python -m pytest -q -m "not browser" $(PYTEST_ARGS)

test-browser: install
	$(BIN)/python -m pytest -q -m browser $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check portal tests bench
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) instance .pytest_cache
