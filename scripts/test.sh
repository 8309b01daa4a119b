#!/usr/bin/env bash
# Set up what the tests need and run the whole suite.
# With PostgreSQL and Redis reachable on 127.0.0.1, the suite runs on them (the production path);
# with CI=true they must be reachable; elsewhere it falls back to SQLite and the filesystem broker.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

scripts/install-chromium.sh || { [ "${CI:-}" = "true" ] && exit 1; echo "chromium missing: browser tests will be skipped"; }

services=$($PY scripts/probe_services.py || true)
if [ "$services" = "postgres redis" ]; then
  export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  export CELERY_BROKER_URL="${TEST_BROKER_URL:-redis://127.0.0.1:6379/0}"
  echo "Running on PostgreSQL and Redis (127.0.0.1)"
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but PostgreSQL and Redis are not both reachable on 127.0.0.1 (found: ${services:-none})." >&2
  exit 1
else
  unset DATABASE_URL CELERY_BROKER_URL
  echo "PostgreSQL/Redis not reachable: running on the embedded defaults (SQLite, filesystem broker)"
fi

export DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/automl-test-XXXXXX")"
export EXPERIMENT_QUEUE="test-$$-$RANDOM"
export DJANGO_SETTINGS_MODULE=webapp.settings
trap 'rm -rf "$DATA_DIR"' EXIT
# Two processes (the machine's two cores): while one waits on a browser, a worker or a server, the
# other runs; each file stays in one process, with its own database, data directory, queue and Redis
# databases (tests/parallel.py). TEST_PROCESSES=0 runs the suite in one process.
$PY -m pytest -n "${TEST_PROCESSES:-2}" --dist loadfile --no-loadscope-reorder "$@"
