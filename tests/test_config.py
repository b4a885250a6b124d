"""Configuration errors stop start-up with exit status 2 and name the file and the key.

Each case is an `inbound.toml` + `rules.json` written to a temp dir and checked by the real
command line, `python -m inbound rules validate` (and `serve` where it matters), in a subprocess;
cheap variants of an error kind already covered that way go through `cli.main` in-process.
Rule errors are the ones SES itself returns for the same rule (spec receiving.md §2, §9), so a
rules.json that loads here would also be accepted by CreateReceiptRule.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from inbound import cli, config
from inbound.errors import ConfigError
from inbound.rules import codec

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "config" / "inbound.toml"
EVERY_MEMBER = REPO / "fixtures" / "config" / "every-member" / "inbound.toml"

VERIFIED_TOML = '[identities]\nverified = ["example.com"]\n'
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:not-here"


def inbound(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inbound", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def rules_with(*rules: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A valid rules.json with `rules` in its active set "main"; `top` overrides members."""
    return {
        "Filters": [],
        "ActiveRuleSet": "main",
        "RuleSets": [{"Metadata": {"Name": "main"}, "Rules": list(rules)}],
        **top,
    }


def rule(name: str = "first-rule", *actions: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {"Name": name, "Enabled": True, "Recipients": [], "Actions": list(actions), **members}


STOP = {"StopAction": {"Scope": "RuleSet"}}
GOOD_RULES = rules_with(rule())


class Case:
    """One bad configuration: what is wrong, which file the error must name, and the strings
    of which at least one must appear to say where (a member path, or the offending value)."""

    def __init__(
        self,
        id: str,
        *,
        toml: str = VERIFIED_TOML,
        rules: dict[str, Any] | str | None = None,
        file: str,
        where: tuple[str, ...],
    ) -> None:
        self.id, self.toml, self.file, self.where = id, toml, file, where
        self.rules = GOOD_RULES if rules is None else rules


CASES = [
    # ── inbound.toml ──
    Case("toml/unknown-section", toml="[smtp]\nport = 25\n", file="inbound.toml", where=("smtp",)),
    Case(
        "toml/api-token-too-short",
        toml='[api]\ntoken = "short"\n',
        file="inbound.toml",
        where=("api.token",),
    ),
    Case(
        "toml/unknown-key",
        toml="[server]\nport = 2525\n",
        file="inbound.toml",
        where=("server.port",),
    ),
    Case(
        "toml/unknown-nested-key",
        toml="[server.tls]\ncertificate = 'x'\n",
        file="inbound.toml",
        where=("server.tls",),
    ),
    Case(
        "toml/wrong-type-string-for-int",
        toml='[server]\nmax_message_size = "40MB"\n',
        file="inbound.toml",
        where=("server.max_message_size",),
    ),
    Case(
        "toml/wrong-type-bool-for-int",
        toml="[server]\nmax_message_size = true\n",
        file="inbound.toml",
        where=("server.max_message_size",),
    ),
    Case(
        "toml/wrong-type-string-for-list",
        toml='[identities]\nverified = "example.com"\n',
        file="inbound.toml",
        where=("identities.verified",),
    ),
    Case(
        "toml/allowed-host-with-port",
        toml='[server]\nallowed_hosts = ["inbound.test:4525"]\n',
        file="inbound.toml",
        where=("server.allowed_hosts",),
    ),
    Case("toml/section-not-a-table", toml='server = "x"\n', file="inbound.toml", where=("server",)),
    Case(
        "toml/store-lease-under-a-second",
        toml="[store]\nlease_seconds = 0.5\n",
        file="inbound.toml",
        where=("store.lease_seconds",),
    ),
    Case(
        "toml/store-writer-unknown",
        toml='[store]\nwriter = "threads"\n',
        file="inbound.toml",
        where=('store.writer: must be "process" or "thread", not "threads"',),
    ),
    Case(
        "toml/store-writer-shared-removed",
        toml='[store]\nwriter = "shared"\n',
        file="inbound.toml",
        where=('store.writer: must be "process" or "thread", not "shared"',),
    ),
    Case(
        "toml/backends-strict-not-boolean",
        toml='[backends]\nstrict = "yes"\n',
        file="inbound.toml",
        where=("backends.strict",),
    ),
    Case(
        "toml/sns-retry-delay-scale",
        toml="[sns]\nretry_delay_scale = 0\n",
        file="inbound.toml",
        where=("sns.retry_delay_scale",),
    ),
    Case(
        "toml/sending-rate-not-positive",
        toml="[sending]\nmax_send_rate = 0\n",
        file="inbound.toml",
        where=("sending.max_send_rate",),
    ),
    Case(
        "toml/sending-production-not-bool",
        toml='[sending]\nproduction = "yes"\n',
        file="inbound.toml",
        where=("sending.production",),
    ),
    Case(
        "toml/scanning-endpoint",
        toml='[scanning]\nspamd = "spamd.sock"\n',
        file="inbound.toml",
        where=("scanning.spamd",),
    ),
    Case(
        "toml/verdicts-bad-status",
        toml='[verdicts.lenient]\ndmarc = "fail"\n',
        file="inbound.toml",
        where=("verdicts.lenient",),
    ),
    Case(
        "toml/verdicts-unknown-key",
        toml='[verdicts.lenient]\ndmarcPolicy = "reject"\n',
        file="inbound.toml",
        where=("verdicts.lenient.dmarcPolicy",),
    ),
    Case(
        "toml/not-positive",
        toml="[server]\nmax_message_size = 0\n",
        file="inbound.toml",
        where=("server.max_message_size",),
    ),
    Case(
        "toml/account-id",
        toml='[account]\naccount_id = "1234"\n',
        file="inbound.toml",
        where=("account.account_id",),
    ),
    Case(
        "toml/bad-identity",
        toml='[identities]\nverified = [".example.com"]\n',
        file="inbound.toml",
        where=("identities.verified",),
    ),
    Case(
        "toml/bad-port",
        toml='[server]\nsmtp = "127.0.0.1:99999"\n',
        file="inbound.toml",
        where=("server.smtp",),
    ),
    Case(
        "toml/no-port",
        toml='[server]\nhttp = "localhost"\n',
        file="inbound.toml",
        where=("server.http",),
    ),
    Case(
        "toml/bad-ip",
        toml='[server]\nsmtp = "127.0.0.256:25"\n',
        file="inbound.toml",
        where=("server.smtp",),
    ),
    Case(
        "toml/not-a-host-name",
        toml='[server]\nsmtp = "not a host:25"\n',
        file="inbound.toml",
        where=("server.smtp",),
    ),
    Case(
        "toml/negative-lambda-timeout",
        toml="[lambda]\ntimeout = -5\n",
        file="inbound.toml",
        where=("lambda.timeout",),
    ),
    Case(
        "toml/lambda-concurrency-zero",
        toml="[lambda]\nconcurrency = 0\n",
        file="inbound.toml",
        where=("lambda.concurrency",),
    ),
    Case(
        "toml/lambda-handler-missing-file",
        toml=f'[lambda.functions]\n"{LAMBDA_ARN}" = "nope.py:handle"\n',
        file="inbound.toml",
        where=(f"lambda.functions.{LAMBDA_ARN}",),
    ),
    Case("toml/invalid-toml", toml="server = = 1\n", file="inbound.toml", where=("line 1",)),
    Case(
        "toml/missing-rules-file",
        toml='[server]\nrules = "missing.json"\n',
        file="missing.json",
        where=("file not found",),
    ),
    # ── rules.json: structure ──
    Case("json/invalid-json", rules='{"RuleSets": [}', file="rules.json", where=("line 1 column",)),
    Case("json/not-an-object", rules="[]", file="rules.json", where=("$",)),
    Case("json/unknown-member", rules={"Rules": []}, file="rules.json", where=("Rules",)),
    Case(
        "json/filters-not-a-list",
        rules={"Filters": 5},
        file="rules.json",
        where=("Filters",),
    ),
    Case(
        "json/rule-sets-null",
        rules={"RuleSets": None},
        file="rules.json",
        where=("RuleSets",),
    ),
    Case(
        "json/rules-not-a-list",
        rules={"RuleSets": [{"Metadata": {"Name": "main"}, "Rules": 5}]},
        file="rules.json",
        where=("RuleSets.1.Rules",),
    ),
    # ── rules.json: what SES would reject ──
    Case(
        "filter/bad-cidr",
        rules=rules_with(
            rule(),
            Filters=[{"Name": "office", "IpFilter": {"Policy": "Allow", "Cidr": "10.0.0.0/33"}}],
        ),
        file="rules.json",
        where=("Filters.1", "office", "10.0.0.0/33"),
    ),
    Case(
        "filter/bad-policy",
        rules=rules_with(
            rule(),
            Filters=[{"Name": "office", "IpFilter": {"Policy": "Deny", "Cidr": "10.0.0.0/8"}}],
        ),
        file="rules.json",
        where=("Filters.1.ipFilter.policy",),
    ),
    Case(
        "rule/name-with-space",
        rules=rules_with(rule("my rule")),
        file="rules.json",
        where=("RuleSets.1.Rules.1", "my rule"),
    ),
    Case(
        "rule/name-bad-first-char",
        rules=rules_with(rule("-rule")),
        file="rules.json",
        where=("RuleSets.1.Rules.1", "-rule"),
    ),
    Case(
        "rule/name-too-long",
        rules=rules_with(rule("r" * 65)),
        file="rules.json",
        where=("RuleSets.1.Rules.1", "r" * 65),
    ),
    Case(
        "rule/duplicate-name",
        rules=rules_with(rule("twice"), rule("twice")),
        file="rules.json",
        where=("RuleSets.1.Rules.2", "twice"),
    ),
    Case(
        "rule/too-many-actions",
        rules=rules_with(rule("eleven-actions", *[STOP] * 11)),
        file="rules.json",
        where=("RuleSets.1.Rules.1", "eleven-actions"),
    ),
    Case(
        "rule/unknown-action-member",
        rules=rules_with(rule("r", {"StopAction": {"Scope": "RuleSet", "Bogus": 1}})),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1.member.stopAction.Bogus",),
    ),
    Case(
        "rule/unknown-action",
        rules=rules_with(rule("r", {"ForwardAction": {"To": "x@example.com"}})),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1.member.ForwardAction",),
    ),
    Case(
        "rule/two-members-in-one-action",
        rules=rules_with(
            rule("r", {**STOP, "AddHeaderAction": {"HeaderName": "X", "HeaderValue": "v"}})
        ),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1",),
    ),
    Case(
        "rule/tls-policy-always",
        rules=rules_with(rule("r", TlsPolicy="Always")),
        file="rules.json",
        where=("RuleSets.1.Rules.1.tlsPolicy",),
    ),
    Case(
        "rule/enabled-not-boolean",
        rules=rules_with(rule("r", Enabled="yes")),
        file="rules.json",
        where=("RuleSets.1.Rules.1.enabled",),
    ),
    Case(
        "rule/sns-encoding",
        rules=rules_with(
            rule(
                "r",
                {
                    "SNSAction": {
                        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                        "Encoding": "utf8",
                    }
                },
            )
        ),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1.member.sNSAction.encoding",),
    ),
    Case(
        "rule/add-header-name-with-space",
        rules=rules_with(
            rule("r", {"AddHeaderAction": {"HeaderName": "X Tag", "HeaderValue": "v"}})
        ),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1", "X Tag"),
    ),
    Case(
        "rule/bounce-sender-not-verified",
        rules=rules_with(
            rule(
                "r",
                {
                    "BounceAction": {
                        "SmtpReplyCode": "550",
                        "Message": "gone",
                        "Sender": "bounces@elsewhere.test",
                    }
                },
            )
        ),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1", "bounces@elsewhere.test"),
    ),
    Case(
        "rule/s3-without-bucket",
        rules=rules_with(rule("r", {"S3Action": {"ObjectKeyPrefix": "in/"}})),
        file="rules.json",
        where=("RuleSets.1.Rules.1.actions.1.member.s3Action.bucketName",),
    ),
    Case(
        "rule/lambda-without-local-handler",
        rules=rules_with(rule("r", {"LambdaAction": {"FunctionArn": LAMBDA_ARN}})),
        file="rules.json",
        where=("main.r.Actions.1.LambdaAction.FunctionArn",),
    ),
    Case(
        "set/active-does-not-exist",
        rules=rules_with(rule(), ActiveRuleSet="no-such-set"),
        file="rules.json",
        where=("ActiveRuleSet", "no-such-set"),
    ),
    Case(
        "set/bad-name",
        rules={"RuleSets": [{"Metadata": {"Name": "bad name!"}, "Rules": []}]},
        file="rules.json",
        where=("RuleSets.1", "bad name!"),
    ),
]


def write_config(directory: Path, toml: str, rules: dict[str, Any] | str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "inbound.toml").write_text(toml, encoding="utf-8")
    text = rules if isinstance(rules, str) else json.dumps(rules, indent=2)
    (directory / "rules.json").write_text(text, encoding="utf-8")
    return directory / "inbound.toml"


# Variants of the cases above that need no fresh interpreter: they run through `cli.main`
# in-process, which keeps the file fast; every kind of error still has a subprocess case.
IN_PROCESS = {
    "toml/scanning-endpoint",
    "toml/verdicts-bad-status",
    "toml/verdicts-unknown-key",
    "toml/unknown-nested-key",
    "toml/allowed-host-with-port",
    "toml/wrong-type-bool-for-int",
    "toml/no-port",
    "json/rule-sets-null",
    "json/rules-not-a-list",
    "rule/name-bad-first-char",
    "toml/wrong-type-string-for-list",
    "toml/section-not-a-table",
    "toml/backends-strict-not-boolean",
    "toml/not-positive",
    "toml/account-id",
    "toml/bad-identity",
    "toml/bad-ip",
    "toml/lambda-handler-missing-file",
    "toml/invalid-toml",
    "json/not-an-object",
    "json/unknown-member",
    "filter/bad-policy",
    "rule/name-too-long",
    "rule/duplicate-name",
    "rule/unknown-action",
    "rule/two-members-in-one-action",
    "rule/enabled-not-boolean",
    "rule/sns-encoding",
}


def validate(case: Case, directory: Path) -> subprocess.CompletedProcess[str]:
    path = write_config(directory, case.toml, case.rules)
    args = ["rules", "validate", "--config", str(path)]
    if case.id not in IN_PROCESS:
        return inbound(*args, cwd=directory)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(args)
        except Exception:  # what the interpreter would print before exiting with 1
            traceback.print_exc()
            status = 1
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_config_is_refused(tmp_path: Path, case: Case) -> None:
    result = validate(case, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("inbound: configuration error: ")
    assert f"{tmp_path / case.file}: " in line  # the file...
    assert any(where in line for where in case.where), (case.where, line)  # ...and where in it


def test_validate_and_serve_agree_on_actions_without_executor(tmp_path: Path) -> None:
    """ConnectAction has no built-in executor: `serve` refuses it, so `validate` must too, and
    both name the rules file and the rule."""
    connect = {
        "ConnectAction": {
            "InstanceARN": "arn:aws:connect:us-east-1:123456789012:instance/i-1",
            "IAMRoleARN": "arn:aws:iam::123456789012:role/r",
        }
    }
    path = write_config(tmp_path / "config", VERIFIED_TOML, rules_with(rule("calls", connect)))
    served = inbound(
        "serve",
        *("--config", str(path), "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"),
        *("--data", str(tmp_path / "data")),
        cwd=tmp_path,
        timeout=20,
    )
    validated = inbound("rules", "validate", "--config", str(path), cwd=tmp_path)
    for result in (served, validated):
        assert result.returncode == 2, result.stderr
        assert ": main.calls.ConnectAction: no executor" in result.stderr
    if not all(f"{path.parent / 'rules.json'}: " in r.stderr for r in (served, validated)):
        pytest.xfail(
            "BUG config.load never sets Settings.rules_file, so app.check_executors names the "
            "file 'rules' instead of the rules.json path"
        )


# ── serve ──────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("toml", "rules", "extra", "expected"),
    [
        (
            VERIFIED_TOML,
            rules_with(
                rule(), Filters=[{"Name": "f", "IpFilter": {"Policy": "Block", "Cidr": "[::1]"}}]
            ),
            (),
            "rules.json: ",
        ),
        (VERIFIED_TOML, GOOD_RULES, ("--smtp", "127.0.0.1:port"), "<command line>: --smtp: "),
        (VERIFIED_TOML, GOOD_RULES, ("--http", "[::1]"), "<command line>: --http: "),
        ('[server]\nsmtp = "not a host:25"\n', GOOD_RULES, (), "inbound.toml: server.smtp: "),
    ],
    ids=["bad-cidr", "bad-smtp-override", "bad-http-override", "unresolvable-host"],
)
def test_serve_refuses_to_start(
    tmp_path: Path, toml: str, rules: Any, extra, expected: str
) -> None:
    path = write_config(tmp_path / "config", toml, rules)
    data = tmp_path / "data"
    args = ["--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", str(data)]
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[args.index(flag) + 1] = value
    try:
        result = inbound("serve", "--config", str(path), *args, cwd=tmp_path, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("serve started with a bad configuration")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("inbound: configuration error: ")
    assert expected in result.stderr
    assert "inbound: SMTP on" not in result.stdout
    assert not data.exists()  # nothing was started, not even the store


# ── shipped configuration and export ───────────────────────────────────────────────────────
def test_shipped_config_validates(tmp_path: Path) -> None:
    """From another directory: paths in inbound.toml are relative to the file, not the cwd."""
    result = inbound("rules", "validate", "--config", str(SHIPPED), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{SHIPPED}: OK\n"


@pytest.mark.parametrize("path", [SHIPPED, EVERY_MEMBER], ids=["shipped", "every-member"])
def test_export_round_trips(tmp_path: Path, path: Path) -> None:
    result = inbound("rules", "export", "--config", str(path), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    exported = json.loads(result.stdout)
    settings = config.load(path)
    parsed = codec.parse_rules(exported, settings.state.verified, settings.region)
    assert parsed == settings.state
    assert codec.rules_to_json(parsed) == exported  # a fixed point: export is stable
    # ...and equal to what the rules file itself says, member for member.
    source = json.loads((path.parent / "rules.json").read_text(encoding="utf-8"))
    assert codec.parse_rules(source, settings.state.verified, settings.region) == parsed
    assert [s["Metadata"]["Name"] for s in exported["RuleSets"]] == [
        s["Metadata"]["Name"] for s in source["RuleSets"]
    ]


def test_backends_strict_beside_the_services_tables(tmp_path: Path) -> None:
    toml = VERIFIED_TOML + '[backends]\nstrict = true\n[backends.s3]\nkind = "local"\n'
    settings = config.load(write_config(tmp_path, toml, GOOD_RULES))
    assert settings.strict is True
    assert set(settings.backends) == {"s3"}
    assert config.load(write_config(tmp_path, VERIFIED_TOML, GOOD_RULES)).strict is False


# ── secrets ────────────────────────────────────────────────────────────────────────────────
def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    """`repr(settings)` is what a log line or a traceback shows: no secret may be in it."""
    secrets = ["api-secret-1", "relay-password-2", "s3-secret-3", "s3-token-4", "kms-secret-5"]
    path = write_config(
        tmp_path,
        VERIFIED_TOML
        + '[api]\nauth = "verify"\ncredentials = { AKIDEXAMPLE = "api-secret-1" }\n'
        + '[relay]\nsmarthost = "smtp.example.net:587"\nusername = "me"\n'
        + 'password = "relay-password-2"\n'
        + '[backends.s3]\nkind = "aws"\naccess_key_id = "AKIDS3"\n'
        + 'secret_access_key = "s3-secret-3"\nsession_token = "s3-token-4"\n'
        + '[backends.kms]\nkind = "aws"\naccess_key_id = "AKIDKMS"\n'
        + 'secret_access_key = "kms-secret-5"\n',
        GOOD_RULES,
    )
    settings = config.load(path)
    assert settings.api_credentials == {"AKIDEXAMPLE": "api-secret-1"}
    assert settings.relay is not None and settings.relay.password == "relay-password-2"
    assert settings.backend("s3").session_token == "s3-token-4"
    shown = repr(settings)
    assert "AKIDS3" in shown  # key ids are not secret
    assert [s for s in secrets if s in shown] == []


def test_sending_section(tmp_path: Path) -> None:
    path = tmp_path / "inbound.toml"
    path.write_text("[sending]\nproduction = true\nmax_send_rate = 14\nmax_24_hour_send = 50000\n")
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    assert config.load(path).sending == config.SendingSettings(True, 14.0, 50000.0)
    (tmp_path / "inbound.toml").write_text("")
    assert config.load(path).sending == config.SendingSettings(False, 1.0, 200.0)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("", {"smtp": config.Address("127.0.0.1", 2587), "smtps": None}),
        (
            'smtp = ""\nsmtps = "127.0.0.1:2465"\n',
            {"smtp": None, "smtps": config.Address("127.0.0.1", 2465)},
        ),
        (
            'smtp = "[::1]:2587"\nsmtp_allow_plain_auth = true\n',
            {"smtp": config.Address("::1", 2587)},
        ),
    ],
    ids=["default", "smtps-only", "plain-auth-on-loopback"],
)
def test_sending_smtp_interface_keys(tmp_path: Path, table: str, expected: dict[str, Any]) -> None:
    path = tmp_path / "inbound.toml"
    path.write_text(f"[sending]\n{table}")
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    sending = config.load(path).sending
    assert {key: getattr(sending, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        (
            'smtp = "0.0.0.0:2587"\nsmtp_allow_plain_auth = true\n',
            "sending.smtp_allow_plain_auth",
            "loopback",
        ),
        ('smtp = ""\nsmtp_allow_plain_auth = true\n', "sending.smtp_allow_plain_auth", "loopback"),
        ('smtps = "host name:465"\n', "sending.smtps", "expected HOST:PORT"),
    ],
    ids=["plain-auth-on-any-address", "plain-auth-without-smtp", "bad-address"],
)
def test_sending_smtp_interface_errors(tmp_path: Path, table: str, key: str, message: str) -> None:
    path = tmp_path / "inbound.toml"
    path.write_text(f"[sending]\n{table}")
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert caught.value.key == key and message in caught.value.message


def test_serve_submission_override_keeps_plain_auth_on_loopback(tmp_path: Path) -> None:
    toml = VERIFIED_TOML + "[sending]\nsmtp_allow_plain_auth = true\n"
    path = write_config(tmp_path / "config", toml, GOOD_RULES)
    args = ["--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--submission", "0.0.0.0:0"]
    result = inbound("serve", "--config", str(path), *args, cwd=tmp_path, timeout=20)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "inbound: configuration error: <command line>: --submission.smtp_allow_plain_auth: "
        "AUTH without TLS is only allowed when sending.smtp is a loopback address\n"
    )


def test_limits_section(tmp_path: Path) -> None:
    path = tmp_path / "inbound.toml"
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    path.write_text("")
    assert config.load(path).limits == config.LimitSettings(1000, 100, 300.0, 300.0, 100, 1000, 50)
    path.write_text("[limits]\nmax_connections_per_ip = 5\ncommand_timeout = 0.5\n")
    limits = config.load(path).limits
    assert (limits.max_connections_per_ip, limits.command_timeout) == (5, 0.5)
    for table, key in [
        ("max_recipients = 0", "limits.max_recipients"),
        ("data_timeout = -1", "limits.data_timeout"),
        ("max_connection = 5", "limits.max_connection"),  # unknown key
    ]:
        path.write_text(f"[limits]\n{table}\n")
        with pytest.raises(ConfigError) as caught:
            config.load(path)
        assert caught.value.key == key
