"""SES receipt shapes as frozen dataclasses: the only place SES wire names live.

Every field carries its SES API member name in its metadata, so `from_api` / `to_api` are
generic and round-trip exactly what `DescribeReceiptRuleSet` and `ListReceiptFilters` return
(botocore's `ses/2010-12-01` model). Structural problems (unknown keys, wrong types, missing
required members, bad enum values) raise `ValidationError` naming the member path; the SES
semantic rules (names, limits, header syntax) live in `validate.py`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, get_type_hints

from inbound.errors import ValidationError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_MISSING = dataclasses.MISSING


def wire(name: str, default: Any = _MISSING) -> Any:
    """A dataclass field serialised under the SES member `name`."""
    if default is _MISSING:
        return field(metadata={"wire": name})
    return field(default=default, metadata={"wire": name})


class TlsPolicy(enum.StrEnum):
    OPTIONAL = "Optional"
    REQUIRE = "Require"


class FilterPolicy(enum.StrEnum):
    BLOCK = "Block"
    ALLOW = "Allow"


class InvocationType(enum.StrEnum):
    EVENT = "Event"
    REQUEST_RESPONSE = "RequestResponse"


class SnsEncoding(enum.StrEnum):
    UTF8 = "UTF-8"
    BASE64 = "Base64"

    @property
    def notification_name(self) -> str:
        """How notifications spell it: `UTF8` / `BASE64` (spec receiving.md §3.4)."""
        return "UTF8" if self is SnsEncoding.UTF8 else "BASE64"


class StopScope(enum.StrEnum):
    RULE_SET = "RuleSet"


# ── actions ─────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Action:
    """Base of the `ReceiptAction` union; `WIRE` is the union member name."""

    WIRE: ClassVar[str]
    NOTIFICATION_TYPE: ClassVar[str]
    # Every action but AddHeader may publish an alert to its TopicArn (spec receiving.md §3);
    # for the SNS action the topic is the action's own target, not an alert.
    HAS_ALERT: ClassVar[bool] = True
    # Only edits the message being processed (AddHeader): every run, resume and retry applies
    # it again, so it is never taken as done from the trace and needs nothing on record first.
    REAPPLIED: ClassVar[bool] = False

    @property
    def alert_topic(self) -> str | None:
        return getattr(self, "topic_arn", None) if self.HAS_ALERT else None


@dataclass(frozen=True)
class AddHeaderAction(Action):
    WIRE = "AddHeaderAction"
    NOTIFICATION_TYPE = "AddHeader"
    HAS_ALERT = False
    REAPPLIED = True
    header_name: str = wire("HeaderName")
    header_value: str = wire("HeaderValue")


@dataclass(frozen=True)
class BounceAction(Action):
    WIRE = "BounceAction"
    NOTIFICATION_TYPE = "Bounce"
    smtp_reply_code: str = wire("SmtpReplyCode")
    message: str = wire("Message")
    sender: str = wire("Sender")
    status_code: str | None = wire("StatusCode", None)
    topic_arn: str | None = wire("TopicArn", None)


@dataclass(frozen=True)
class S3Action(Action):
    WIRE = "S3Action"
    NOTIFICATION_TYPE = "S3"
    bucket_name: str = wire("BucketName")
    object_key_prefix: str | None = wire("ObjectKeyPrefix", None)
    kms_key_arn: str | None = wire("KmsKeyArn", None)
    topic_arn: str | None = wire("TopicArn", None)
    iam_role_arn: str | None = wire("IamRoleArn", None)


@dataclass(frozen=True)
class SNSAction(Action):
    WIRE = "SNSAction"
    NOTIFICATION_TYPE = "SNS"
    HAS_ALERT = False
    topic_arn: str = wire("TopicArn")
    encoding: SnsEncoding = wire("Encoding", SnsEncoding.UTF8)


@dataclass(frozen=True)
class LambdaAction(Action):
    WIRE = "LambdaAction"
    NOTIFICATION_TYPE = "Lambda"
    function_arn: str = wire("FunctionArn")
    invocation_type: InvocationType = wire("InvocationType", InvocationType.EVENT)
    topic_arn: str | None = wire("TopicArn", None)


@dataclass(frozen=True)
class StopAction(Action):
    WIRE = "StopAction"
    NOTIFICATION_TYPE = "Stop"
    scope: StopScope = wire("Scope")
    topic_arn: str | None = wire("TopicArn", None)


@dataclass(frozen=True)
class WorkmailAction(Action):
    WIRE = "WorkmailAction"
    NOTIFICATION_TYPE = "WorkMail"
    organization_arn: str = wire("OrganizationArn")
    topic_arn: str | None = wire("TopicArn", None)


@dataclass(frozen=True)
class ConnectAction(Action):
    WIRE = "ConnectAction"
    # Not in the DG's list of notification types (spec receiving.md §3.8: UNCONFIRMED).
    NOTIFICATION_TYPE = "Connect"
    instance_arn: str = wire("InstanceARN")
    iam_role_arn: str = wire("IAMRoleARN")


ACTION_TYPES: dict[str, type[Action]] = {
    cls.WIRE: cls
    for cls in (
        S3Action,
        BounceAction,
        WorkmailAction,
        LambdaAction,
        StopAction,
        AddHeaderAction,
        SNSAction,
        ConnectAction,
    )
}
# Trace rows name actions by NOTIFICATION_TYPE; these are never taken as done or retried.
REAPPLIED_TYPES = frozenset(c.NOTIFICATION_TYPE for c in ACTION_TYPES.values() if c.REAPPLIED)


# ── rules, rule sets, filters ───────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ReceiptRule:
    # SES's API default for Enabled and ScanEnabled is false (spec receiving.md §1.6, §6).
    name: str = wire("Name")
    enabled: bool = wire("Enabled", False)
    tls_policy: TlsPolicy = wire("TlsPolicy", TlsPolicy.OPTIONAL)
    recipients: tuple[str, ...] = wire("Recipients", ())
    actions: tuple[Action, ...] = wire("Actions", ())
    scan_enabled: bool = wire("ScanEnabled", False)


@dataclass(frozen=True)
class RuleSet:
    name: str
    rules: tuple[ReceiptRule, ...] = ()
    created: datetime | None = None

    def rule(self, name: str) -> ReceiptRule | None:
        return next((r for r in self.rules if r.name == name), None)


@dataclass(frozen=True)
class IpFilter:
    policy: FilterPolicy = wire("Policy")
    cidr: str = wire("Cidr")


@dataclass(frozen=True)
class ReceiptFilter:
    name: str = wire("Name")
    ip_filter: IpFilter = wire("IpFilter")


@dataclass(frozen=True)
class ReceiptState:
    """Everything receipt depends on: filters, rule sets, the active set, verified identities."""

    filters: tuple[ReceiptFilter, ...] = ()
    rule_sets: tuple[RuleSet, ...] = ()
    active: str | None = None
    verified: frozenset[str] = frozenset()

    @property
    def active_rule_set(self) -> RuleSet | None:
        return next((s for s in self.rule_sets if s.name == self.active), None)


# ── generic wire codec ──────────────────────────────────────────────────────────────────────
def _decode(tp: Any, value: Any, path: str) -> Any:
    origin = getattr(tp, "__origin__", None)
    args: tuple[Any, ...] = getattr(tp, "__args__", ())
    if tp is Action:
        return action_from_api(value, path)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValidationError(path, "Member must be a list")
        return tuple(_decode(args[0], v, f"{path}.{i + 1}.member") for i, v in enumerate(value))
    if type(None) in args:  # Optional[X]
        return None if value is None else _decode(args[0], value, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(m.value for m in tp)
            raise ValidationError(
                path, f"Member must satisfy enum value set: [{allowed}]", value
            ) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return struct_from_api(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValidationError(path, "Member must be a boolean", value)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ValidationError(path, "Member must be a string", value)
        return value
    raise TypeError(f"no decoder for {tp!r}")  # a model bug, not bad input


def struct_from_api(cls: type[T], data: Any, path: str) -> T:
    """Build dataclass `cls` from its SES wire dict; unknown or missing members are errors."""
    if not isinstance(data, Mapping):
        raise ValidationError(path, "Member must be a structure")
    fields = _wire_fields(cls)
    hints = _hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError(f"{path}.{unknown[0]}", "is not a member of this structure")
    kwargs = {}
    for wire_name, f in fields.items():
        sub = f"{path}.{wire_name[0].lower()}{wire_name[1:]}"
        if wire_name in data:
            kwargs[f.name] = _decode(hints[f.name], data[wire_name], sub)
        elif f.default is _MISSING:
            raise ValidationError(sub, "Member must not be null")
    return cls(**kwargs)


@cache
def _wire_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.metadata["wire"]: f for f in dataclasses.fields(cls) if "wire" in f.metadata}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def action_from_api(data: Any, path: str) -> Action:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ValidationError(path, "must have exactly one action member set")
    ((name, body),) = data.items()
    cls = ACTION_TYPES.get(name)
    if cls is None:
        raise ValidationError(f"{path}.{name}", "is not a receipt action")
    return struct_from_api(cls, body, f"{path}.{name[0].lower()}{name[1:]}")


def to_api(obj: Any) -> Any:
    """Inverse of `struct_from_api`: SES wire dicts, omitting unset optional members."""
    if isinstance(obj, Action):
        return {obj.WIRE: _struct_to_api(obj)}
    if isinstance(obj, tuple):
        return [to_api(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj):
        return _struct_to_api(obj)
    return obj


def _struct_to_api(obj: Any) -> dict[str, Any]:
    return {
        f.metadata["wire"]: to_api(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if "wire" in f.metadata and getattr(obj, f.name) is not None
    }


def rule_from_api(data: Any, path: str = "rule") -> ReceiptRule:
    return struct_from_api(ReceiptRule, data, path)


def filter_from_api(data: Any, path: str = "filter") -> ReceiptFilter:
    return struct_from_api(ReceiptFilter, data, path)
