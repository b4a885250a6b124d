"""`inbound smtp-password`: one `<user name>\t<password>` line per configured access key
(sorted), or for the key given on the command line, in the configured Region or `--region`."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound import cli
from inbound.sending.credentials import smtp_password

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def config(tmp_path: Path, text: str) -> str:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    path = tmp_path / "inbound.toml"
    path.write_text(text)
    return str(path)


def test_every_configured_key_in_the_configured_region(tmp_path: Path, capsys) -> None:
    path = config(
        tmp_path,
        '[account]\nregion = "eu-west-1"\n'
        f'[api]\ncredentials = {{ {KEY_ID} = "{SECRET}", AKIDSECOND = "other" }}\n',
    )
    assert cli.main(["smtp-password", "--config", path]) == 0
    assert capsys.readouterr().out == (
        f"{KEY_ID}\t{smtp_password(SECRET, 'eu-west-1')}\n"
        f"AKIDSECOND\t{smtp_password('other', 'eu-west-1')}\n"
    )


def test_a_key_from_the_command_line_and_a_region(tmp_path: Path, capsys) -> None:
    path = config(tmp_path, "")
    argv = ["smtp-password", "--config", path, "--region", "us-east-2"]
    argv += ["--access-key-id", KEY_ID, "--secret-access-key", SECRET]
    assert cli.main(argv) == 0
    # the published value (aws/aws-sdk-php's test of the version-4 password)
    assert capsys.readouterr().out == f"{KEY_ID}\tBMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS\n"


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        ((), 1, "no access keys in [api] credentials"),
        (("--access-key-id", KEY_ID), 2, "together"),
    ],
    ids=["no-keys", "key-without-secret"],
)
def test_refusals(tmp_path: Path, capsys, extra, status, message) -> None:
    assert cli.main(["smtp-password", "--config", config(tmp_path, ""), *extra]) == status
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err
