"""SES's semantic validation of receipt filters, rules and rule sets.

Texts and codes follow spec receiving.md §9 and query-api.md §9.3 (probed against real SES by a
third party; where they disagree with the API documentation the probed behaviour wins). The
same checks run for the API's operations, `PUT /api/rules`, `config/rules.json` at start-up,
`inbound rules validate/apply` and the pytest marker `inbound_rules` (all through
`codec.parse_rules` → `check_state`), so a rule set that SES would reject never reaches the
engine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from inbound import model
from inbound.datadir import unsafe_reason
from inbound.errors import (
    AlreadyExists,
    InvalidLambdaFunction,
    InvalidParameterValue,
    InvalidS3Configuration,
    InvalidSnsTopic,
    LimitExceeded,
    RuleSetDoesNotExist,
    SesError,
    ValidationError,
)

# Quotas: spec receiving.md §9.1 (current values, none adjustable).
MAX_RULES_PER_SET = 200
MAX_RULE_SETS = 40
MAX_ACTIONS_PER_RULE = 10
MAX_RECIPIENTS_PER_RULE = 100
MAX_FILTERS = 100
MAX_NAME_LENGTH = 64

_NAME_CHARS = re.compile(r"^[a-zA-Z0-9_.-]+$")
_CIDR = re.compile(
    r"^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:/[0-9]{1,3})?$"
)
# RFC 5322 ftext (printable ASCII but the colon), as probed (query-api.md §9.3's floci notes);
# at most 50 characters, as the API model documents.
_HEADER_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,50}$")
MAX_HEADER_VALUE = 2048  # "up to 2048" in the API model (spec receiving.md §3.1)
_REPLY_CODE = re.compile(r"^[245][0-9][0-9]$")
_STATUS_CODE = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]{1,500}$")
# a topic name SNS accepts: 1 to 256 letters, digits, hyphens and underscores (CreateTopic)
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:.+$")


def check_name(name: str, what: str, path: str) -> None:
    """Rule-set and rule names (spec receiving.md §9.2; query-api.md §9.3). The pattern
    violation's text is the probed one, which does not echo the value."""
    if not _NAME_CHARS.match(name):
        raise ValidationError(
            path, "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$"
        )
    if len(name) > MAX_NAME_LENGTH or not (name[0].isalnum() and name[-1].isalnum()):
        raise InvalidParameterValue(f"Not a valid {what}: {name}")


def check_filter_name(name: str) -> None:
    """Filter names have no pattern layer: every malformed name gets one message (§9.2)."""
    if not name:
        raise InvalidParameterValue("filterName must not be empty")
    if not _NAME_CHARS.match(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValue(f"Not a valid filterName: {name}")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise InvalidParameterValue(f"Not a valid filterName: {name}")


def check_cidr(cidr: str) -> None:
    """A single IPv4/IPv6 address or an in-range CIDR block; host bits may be set (§2).

    Bracketed, zone-scoped, IPv4-mapped IPv6 and non-ASCII digits are rejected, as probed.
    """
    try:
        if not _CIDR.match(cidr):
            raise ValueError(cidr)  # netmask notation, brackets, zones, non-ASCII digits
        address, _, _ = cidr.partition("/")
        if ":" in address and "." in address:
            raise ValueError(cidr)  # IPv4-mapped / -compatible spellings
        parsed = ipaddress.ip_address(address)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
            raise ValueError(cidr)
        ipaddress.ip_network(cidr, strict=False)  # the mask is in range
    except ValueError:
        raise InvalidParameterValue(f"Invalid CIDR block: {cidr}") from None


def check_filter(f: model.ReceiptFilter) -> None:
    check_filter_name(f.name)
    check_cidr(f.ip_filter.cidr)


def check_filters(filters: Iterable[model.ReceiptFilter]) -> None:
    seen: set[str] = set()
    for count, f in enumerate(filters, start=1):
        with _located(f"Filters.{count} ({f.name})"):
            check_filter(f)
        if f.name in seen:
            raise AlreadyExists(f"Filter already exists: {f.name}")
        if count > MAX_FILTERS:
            raise LimitExceeded("Too many filters")
        seen.add(f.name)


# S3's bucket naming rules, with the legacy us-east-1 upper case and underscores: a name S3
# refuses is a bucket SES cannot write to (spec §3.3), and each is one safe path segment.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def check_s3_target(action: model.S3Action) -> None:
    """A bucket S3 would refuse gets SES's text for a bucket it cannot write to (§9.3). A key
    prefix that would leave the embedded S3 store's folder (`../`, a leading `/`, a NUL) is
    refused whatever the backend: S3 would take it, but a rules.json must work with both
    backends, and the embedded store cannot write it inside the data dir (docs/behaviour.md)."""
    bucket = action.bucket_name
    if not bucket:
        raise InvalidParameterValue("Bucket name must not be empty")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidS3Configuration(f"Could not write to bucket: {bucket}", Bucket=bucket)
    prefix = action.object_key_prefix or ""
    reason = unsafe_reason(prefix)
    if reason is not None:
        raise InvalidParameterValue(
            f"Object key prefix {reason}, which the embedded S3 store cannot write inside "
            f"its data dir: {prefix}"
        )


def check_workmail_target(action: model.WorkmailAction) -> None:
    """The organization id (after the ARN's last `/`) names the embedded mailbox's folder."""
    arn = action.organization_arn
    organization = arn.rsplit("/", 1)[-1]
    reason = "is empty" if organization in {"", "."} else unsafe_reason(organization)
    if reason is not None:
        raise InvalidParameterValue(
            f"Organization id {reason}, which the embedded WorkMail store cannot write inside "
            f"its data dir: {arn}"
        )


def check_action(action: model.Action, path: str, verified: frozenset[str]) -> None:
    if isinstance(action, model.S3Action):
        check_s3_target(action)
    elif isinstance(action, model.WorkmailAction):
        check_workmail_target(action)
    elif isinstance(action, model.AddHeaderAction):
        if not _HEADER_NAME.match(action.header_name):
            raise InvalidParameterValue(f"Invalid header name: {action.header_name}")
        if len(action.header_value) > MAX_HEADER_VALUE or any(
            c in action.header_value for c in "\r\n"
        ):
            raise InvalidParameterValue("Invalid header value")
    elif isinstance(action, model.BounceAction):
        if not _REPLY_CODE.match(action.smtp_reply_code):
            raise InvalidParameterValue(f"Invalid SMTP reply code: {action.smtp_reply_code}")
        if action.status_code is not None and not (
            _STATUS_CODE.match(action.status_code)
            and action.status_code[0] == action.smtp_reply_code[0]
        ):
            raise ValidationError(
                f"{path}.statusCode",
                "Member must be an RFC 3463 status code of the reply's class",
                action.status_code,
            )
        # The text goes into the DSN's 7-bit Diagnostic-Code (RFC 3464 §2.1); Mail Manager's
        # BounceAction documents the same printable-ASCII pattern (spec dsn.md §2.1).
        if not _PRINTABLE.match(action.message):
            raise InvalidParameterValue(f"Invalid SMTP response message: {action.message}")
        # A Bounce sender must be a verified identity (query-api.md §9.3; the text as probed
        # live by alchemy-run/distilled#391 and floci).
        if not is_verified(action.sender, verified):
            raise InvalidParameterValue(f"Identity is not verified: {action.sender}")


def check_arns(rule: model.ReceiptRule, region: str) -> None:
    """Topics and functions must be ARNs of their kind, and topics in the receiving Region
    (spec receiving.md §8). A value that is not an ARN of its kind gets its own text, as probed
    (query-api.md §9.3's floci notes). Whether the function exists is asked of the Lambda
    backend by the API (`receipt_rules.check_targets`) and of `[lambda.functions]` by the
    config loader (`config.check_targets`)."""
    prefix = f"arn:aws:sns:{region}:"
    for action in rule.actions:
        topic = getattr(action, "topic_arn", None)
        if topic is not None and not _SNS_TOPIC_ARN.match(topic):
            raise InvalidSnsTopic(f"Invalid SNS topic: {topic}", Topic=topic)
        if topic is not None and not topic.startswith(prefix):
            raise InvalidSnsTopic(f"Could not publish to SNS topic: {topic}", Topic=topic)
        if isinstance(action, model.LambdaAction) and not _FUNCTION_ARN.match(action.function_arn):
            arn = action.function_arn
            raise InvalidLambdaFunction(f"Invalid Lambda function: {arn}", FunctionArn=arn)


def check_rule(rule: model.ReceiptRule, verified: frozenset[str]) -> None:
    check_name(rule.name, "ruleName", "rule.name")
    if len(rule.actions) > MAX_ACTIONS_PER_RULE:
        raise LimitExceeded("Too many actions")
    if len(rule.recipients) > MAX_RECIPIENTS_PER_RULE:
        raise LimitExceeded("Too many recipients")
    for recipient in rule.recipients:
        check_recipient(recipient)
    for i, action in enumerate(rule.actions, start=1):
        check_action(action, f"rule.actions.{i}.member", verified)


_LABEL = r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?"  # letters (IDN too), digits, inner hyphens
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")  # the root dot is ignored when matching
_QUOTED = re.compile(r'"[^"\\]*"')
_UNQUOTED_BAD = re.compile(r'[\s"@()<>,;:\\\[\]]')
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 253


def check_recipient(recipient: str) -> None:
    """A rule recipient is an address, a domain or `.domain` (spec §1.4): a local part (quoted
    strings allowed) without controls, at most 64 characters, and a domain of letters, digits
    and inner hyphens. SES's text for anything else is UNCONFIRMED; this one follows its
    `Invalid <what>: <value>` messages."""
    local, at, domain = recipient.rpartition("@")
    if not at and domain.startswith("."):
        domain = domain[1:]
    if (
        (at and not _valid_local_part(local))
        or len(domain) > MAX_DOMAIN
        or not _DOMAIN.match(domain)
    ):
        raise InvalidParameterValue(f"Invalid recipient: {recipient}")


def _valid_local_part(local: str) -> bool:
    return (
        0 < len(local) <= MAX_LOCAL_PART
        and not _CONTROLS.search(local)
        and not _UNQUOTED_BAD.search(_QUOTED.sub("", local))
    )


@contextmanager
def _located(where: str) -> Iterator[None]:
    try:
        yield
    except SesError as exc:
        if not hasattr(exc, "location"):
            exc.location = where  # type: ignore[attr-defined]
        raise


def check_state(state: model.ReceiptState, region: str) -> None:
    """Every rule of every set (with its ARNs, for `region`), the set count, names, and the
    active set's existence.

    An error is tagged with `location` (e.g. `RuleSets.1 (default).Rules.2 (to-s3)`) so that
    the config loader can say where in rules.json the offending item is.
    """
    with _located("Filters"):
        check_filters(state.filters)
    if len(state.rule_sets) > MAX_RULE_SETS:
        raise LimitExceeded("Too many rule sets")
    seen: set[str] = set()
    for i, rule_set in enumerate(state.rule_sets, start=1):
        where = f"RuleSets.{i} ({rule_set.name})"
        with _located(where):
            check_name(rule_set.name, "ruleSetName", "ruleSetName")
            if rule_set.name in seen:
                raise AlreadyExists(f"Rule set already exists: {rule_set.name}")
            if len(rule_set.rules) > MAX_RULES_PER_SET:
                raise LimitExceeded("Too many rules")
        names: set[str] = set()
        for j, rule in enumerate(rule_set.rules, start=1):
            with _located(f"{where}.Rules.{j} ({rule.name})"):
                check_rule(rule, state.verified)
                check_arns(rule, region)
                if rule.name in names:
                    raise AlreadyExists(f"Rule already exists: {rule.name}")
            names.add(rule.name)
        seen.add(rule_set.name)
    if state.active is not None and state.active not in seen:
        raise RuleSetDoesNotExist(f"Rule set does not exist: {state.active}")


def is_verified(address: str, verified: frozenset[str]) -> bool:
    """An address is verified as itself or through its domain (or a parent domain)."""
    address = address.lower()
    if address in verified:
        return True
    domain = address.rpartition("@")[2]
    labels = domain.split(".")
    return any(".".join(labels[i:]) in verified for i in range(len(labels)))
