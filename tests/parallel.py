"""Each process of a parallel test run (pytest -n, pytest-xdist) gets its own data directory, queue and
Redis databases, so that the processes never read each other's files, tasks or counts.

Loaded as a plugin (``-p tests.parallel`` in pytest.ini) so that it runs before Django reads its
settings. The test databases are already separate: pytest-django names them after the process.
"""
import os
from urllib.parse import urlsplit, urlunsplit

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...; empty in a serial run


def _own_redis_databases(url: str, index: int) -> str:
    """The broker's database moved by two per process: the cache takes the one after the broker's."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("redis"):
        return url
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + 2 * index}"))


if WORKER:
    index = int(WORKER.removeprefix("gw"))
    if os.environ.get("DATA_DIR"):
        os.environ["DATA_DIR"] = os.path.join(os.environ["DATA_DIR"], WORKER)
    os.environ["EXPERIMENT_QUEUE"] = f"{os.environ.get('EXPERIMENT_QUEUE', 'experiments')}-{WORKER}"
    if os.environ.get("CELERY_BROKER_URL"):
        os.environ["CELERY_BROKER_URL"] = _own_redis_databases(os.environ["CELERY_BROKER_URL"], index)
