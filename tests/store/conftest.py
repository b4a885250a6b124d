"""The store tests run against both stores where they say so (`store_url`)."""

from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures
