# make run   - set up .venv, migrate, start the web app and a worker (embedded defaults)
# make test  - set up .venv and chromium, then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= ./data
export PORT DATA_DIR

.PHONY: run test venv venv-dev bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve --port $(PORT)

test: venv-dev
	scripts/test.sh

bench: venv-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) test-artifacts
