"""An example Lambda handler for the sandbox (named in inbound.toml under [lambda.functions]).

It receives SES's exact event. With InvocationType RequestResponse its return value steers the
rule set: {"disposition": "STOP_RULE" | "STOP_RULE_SET" | "CONTINUE"}.
"""

from typing import Any


def handle(event: dict[str, Any], context: Any) -> dict[str, str]:
    record = event["Records"][0]["ses"]
    mail, receipt = record["mail"], record["receipt"]
    print(
        f"[{context.function_name}] {mail['messageId']} from {mail['source']} "
        f"to {receipt['recipients']} spam={receipt['spamVerdict']['status']}"
    )
    return {"disposition": "CONTINUE"}
