"""Both stores for the workers' tests: `store_url` (tests/postgres.py)."""

from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures
