"""SES API errors, one class per SES error code (botocore `ses/2010-12-01` model), and
`ConfigError` for a bad inbound.toml or rules.json.

They live at the top level, not under `api/`, because the config loader and `validate.py`
raise them too: a rules.json that SES would reject fails with the same code and text the API
would return. Codes, HTTP status and fault are class attributes, as in aiohttp's
`HTTPNotFound(HTTPClientError)`; `api/` maps them to XML by walking the MRO.
"""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """Bad configuration: `inbound serve` prints it and exits with status 2."""

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}")
        self.file, self.key, self.message = str(file), key, message


class SesError(Exception):
    """`fields` are the error shape's modeled members (e.g. `Name` of RuleSetDoesNotExist),
    which the Query codec writes inside `<Error>` (query-api.md §5)."""

    code = "InternalFailure"
    status = 500
    sender_fault = False

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class SesClientError(SesError):
    status = 400
    sender_fault = True


_NO_VALUE = object()


class ValidationError(SesClientError):
    """Coral-style constraint failure (query-api.md §5): `Value 'x' at 'rule.name' failed to
    satisfy constraint: ...`; `path` is the member path, e.g. `rule.actions.1.member`."""

    code = "ValidationError"

    def __init__(self, path: str, constraint: str, value: object = _NO_VALUE) -> None:
        self.path = path
        shown = "" if value is _NO_VALUE else " null" if value is None else f" '{value}'"
        super().__init__(
            f"1 validation error detected: Value{shown} at '{path}' failed to satisfy "
            f"constraint: {constraint}"
        )


class ResourceNotFound(SesClientError):
    """A resource only API v2 has (a dedicated IP pool, an export job, a tenant) does not
    exist: the v2 model's `NotFoundException`, raised by the services that keep them."""

    code = "NotFoundException"
    status = 404


class InvalidParameterValue(SesClientError):
    code = "InvalidParameterValue"


class AlreadyExists(SesClientError):
    code = "AlreadyExists"


class LimitExceeded(SesClientError):
    code = "LimitExceeded"


class RuleSetDoesNotExist(SesClientError):
    code = "RuleSetDoesNotExist"


class RuleDoesNotExist(SesClientError):
    code = "RuleDoesNotExist"


class CannotDelete(SesClientError):
    code = "CannotDelete"


class InvalidLambdaFunction(SesClientError):
    code = "InvalidLambdaFunction"


class InvalidSnsTopic(SesClientError):
    code = "InvalidSnsTopic"


class InvalidS3Configuration(SesClientError):
    code = "InvalidS3Configuration"


class MessageRejected(SesClientError):
    code = "MessageRejected"


# ── sending-side state (configuration sets, templates, custom verification templates) ──────
class ConfigurationSetAlreadyExists(SesClientError):
    code = "ConfigurationSetAlreadyExists"


class ConfigurationSetDoesNotExist(SesClientError):
    code = "ConfigurationSetDoesNotExist"


class InvalidConfigurationSet(SesClientError):
    code = "InvalidConfigurationSet"


class EventDestinationAlreadyExists(SesClientError):
    code = "EventDestinationAlreadyExists"


class EventDestinationDoesNotExist(SesClientError):
    code = "EventDestinationDoesNotExist"


class InvalidCloudWatchDestination(SesClientError):
    code = "InvalidCloudWatchDestination"


class InvalidFirehoseDestination(SesClientError):
    code = "InvalidFirehoseDestination"


class InvalidSNSDestination(SesClientError):
    code = "InvalidSNSDestination"


class TrackingOptionsAlreadyExists(SesClientError):
    code = "TrackingOptionsAlreadyExistsException"


class TrackingOptionsDoesNotExist(SesClientError):
    code = "TrackingOptionsDoesNotExistException"


class InvalidTrackingOptions(SesClientError):
    code = "InvalidTrackingOptions"


class InvalidDeliveryOptions(SesClientError):
    code = "InvalidDeliveryOptions"


class TemplateDoesNotExist(SesClientError):
    code = "TemplateDoesNotExist"


class InvalidTemplate(SesClientError):
    code = "InvalidTemplate"


class InvalidRenderingParameter(SesClientError):
    code = "InvalidRenderingParameter"


class MissingRenderingAttribute(SesClientError):
    code = "MissingRenderingAttribute"


class CustomVerificationEmailTemplateAlreadyExists(SesClientError):
    code = "CustomVerificationEmailTemplateAlreadyExists"


class CustomVerificationEmailTemplateDoesNotExist(SesClientError):
    code = "CustomVerificationEmailTemplateDoesNotExist"


class CustomVerificationEmailInvalidContent(SesClientError):
    code = "CustomVerificationEmailInvalidContent"


class FromEmailAddressNotVerified(SesClientError):
    code = "FromEmailAddressNotVerified"


# ── sending ─────────────────────────────────────────────────────────────────────────────────
class Throttling(SesClientError):
    """ "Maximum sending rate exceeded." / "Daily message quota exceeded." (DG, "Errors related
    to the sending quotas"); the Query API's code is `Throttling`."""

    code = "Throttling"


class MailFromDomainNotVerified(SesClientError):
    code = "MailFromDomainNotVerifiedException"


class ConfigurationSetSendingPaused(SesClientError):
    code = "ConfigurationSetSendingPausedException"


class AccountSendingPaused(SesClientError):
    code = "AccountSendingPausedException"


class SendingPaused(SesClientError):
    """The v2 model's code for paused sending; a paused tenant's send answers it."""

    code = "SendingPausedException"


class TenantAccessDenied(SesClientError):
    """Not in the v2 model, yet AWS's answer to a tenant's send with resources the tenant does
    not hold (floci's probe, github.com/floci-io/floci/pull/2815): kept as it is. Raised by
    the sending side (`sending/tenants.gate`), whichever interface sent."""

    code = "AccessDeniedException"
    status = 403


class ProductionAccessNotGranted(SesClientError):
    code = "ProductionAccessNotGranted"
