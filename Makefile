# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
# The suite runs in this many processes (pytest-xdist); 1 runs it in one.
TEST_WORKERS ?= 2

.PHONY: run dev test test-postgres test-browser install translations messages lint lock audit clean bench bench-smoke fleet

# Dependencies come from requirements.lock (exact versions with hashes), then the project
# itself without resolving anything further.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations

# Refresh the English and the nynorsk catalogue after adding or changing text. Nynorsk covers
# the consumer-facing texts (the files listed in babel-consumer.cfg); staff pages stay bokmål.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-by-file -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l en --no-fuzzy-matching
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l nn --no-fuzzy-matching

# The portal and the simulated BankID under gunicorn, and the worker (Procfile); Ctrl+C stops all.
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(BIN)/python -m portal.run

# Only the portal, on Flask's development server with reloading (no BankID simulator, no worker).
dev: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --debug --host 127.0.0.1 --port $${PORTAL_PORT:-5000}

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-postgres: install
	PORTAL_TEST_DATABASE_URL=$${PORTAL_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
		$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not browser" $(PYTEST_ARGS)

test-browser: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m browser $(PYTEST_ARGS)

# The performance suite on PostgreSQL (PORTAL_BENCH_DATABASE_URL, default postgres@127.0.0.1:5432):
# its own database with 1,000,000 invoices, every figure a ratio against a baseline of the same
# run; results in bench/results/. wrk is installed with apt-get when missing (as root), else a
# Python load generator is used. BENCH_ARGS="--only consent\ landing --rounds 5" and so on.
# The before figures: the portal as it was when issue 15 was opened, served beside this one.
BENCH_BEFORE ?= 2cfecad

bench: install
	BENCH_BEFORE=$(BENCH_BEFORE) $(BIN)/python -m bench.suite $(BENCH_ARGS)

bench-smoke: install
	$(BIN)/python -m bench.suite --smoke $(BENCH_ARGS)

# N web processes and N workers (and one deadline sweeper) on one PostgreSQL database:
#   PORTAL_DATABASE_URL=postgresql://… make fleet FLEET_WEB=3 FLEET_WORKERS=2
# Web processes listen on 5000, 5001, … (honcho's $PORT); put any round-robin balancer in front.
FLEET_WEB ?= 2
FLEET_WORKERS ?= 2

fleet: install
	@case "$$PORTAL_DATABASE_URL" in postgresql*) ;; *) echo "make fleet needs PORTAL_DATABASE_URL=postgresql://…"; exit 2;; esac
	$(FLASK) db upgrade
	$(BIN)/honcho start -f Procfile.fleet -c web=$(FLEET_WEB),worker=$(FLEET_WORKERS),sweeper=1

lint: install
	$(BIN)/ruff check portal simulators tests bench scripts gunicorn.conf.py
	$(BIN)/lint-imports

# Re-resolve requirements.lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4"
	$(BIN)/pip-compile --quiet --generate-hashes --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

# Known vulnerabilities in the installed dependencies (pip-audit). Where its advisory database
# cannot be reached it says so and exits 0: nothing was audited then.
audit: install
	$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) instance .pytest_cache
