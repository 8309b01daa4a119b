"""Print which of PostgreSQL and Redis answer on 127.0.0.1 (used by scripts/test.sh)."""
import os

found = []
try:
    import psycopg

    psycopg.connect(os.environ.get("TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"),
                    connect_timeout=3).close()
    found.append("postgres")
except Exception:
    pass
try:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    found.append("redis")
except Exception:
    pass
print(" ".join(found))
