"""BackendError, apart from the package: `local_kms`, which the package imports, raises it."""


class BackendError(Exception):
    """An action's target failed (missing bucket, topic, handler...): a PublishFailure."""
