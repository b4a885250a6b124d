"""Real SNS subscribers for the backends' tests."""

from tests.webhook import webhook  # noqa: F401 (the fixture)
