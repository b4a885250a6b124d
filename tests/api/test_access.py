"""`[api] auth = "verify"` on the JSON API and the web UI (api/access.py): SigV4 by the
configured keys, the bearer token, or the UI's cookie; nothing else."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from inbound.testing import RunningInbound

KEY, SECRET = "AKIDACCESS", "access-secret"
TOKEN = "t0ken-for-the-json-api"


@pytest.fixture
def guarded(inbound_factory) -> RunningInbound:
    return inbound_factory(api_auth="verify", api_credentials={KEY: SECRET}, api_token=TOKEN)  # type: ignore[no-any-return]


def call(
    server: RunningInbound, path: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.api_url + path, headers=headers or {}, **kwargs)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def signed(server: RunningInbound, path: str, secret: str) -> dict[str, str]:
    request = AWSRequest(method="GET", url=server.api_url + path)
    SigV4Auth(Credentials(KEY, secret), "ses", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_the_json_api_needs_a_signature_or_the_token(guarded) -> None:
    code, headers, body = call(guarded, "/api/messages")
    assert code == 401 and headers["WWW-Authenticate"] == 'Bearer realm="inbound"'
    assert "a SigV4 signature or the [api] token is needed" in json.loads(body)["error"]
    assert call(guarded, "/api/messages", {"Authorization": "Bearer wrong-token-xxxxx"})[0] == 401
    assert call(guarded, "/api/messages", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert call(guarded, "/api/messages", signed(guarded, "/api/messages", SECRET))[0] == 200
    code, _, body = call(guarded, "/api/messages", signed(guarded, "/api/messages", "wrong"))
    assert code == 401 and json.loads(body)["error"].startswith("SignatureDoesNotMatch")
    assert guarded.get("/api/stats")["messages"] == 0  # the plugin's helpers send the token


def test_the_ui_takes_the_token_once_and_then_its_cookie(guarded) -> None:
    code, _, page = call(guarded, "/ui/received")
    assert code == 401 and b"/ui/?token=" in page
    assert call(guarded, "/ui/received?token=not-the-token-at-all")[0] == 401
    code, headers, _ = call(guarded, "/ui/received?token=" + TOKEN + "&status=failed")
    assert code == 303 and headers["Location"] == "/ui/received?status=failed"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {"Cookie": cookie.split(";", 1)[0]}
    assert call(guarded, "/ui/received", jar)[0] == 200
    # the UI's own calls (the rules editor's PUT) carry the cookie
    rules = call(guarded, "/api/rules", jar)[2]
    assert call(guarded, "/api/rules", {**jar, "Content-Type": "application/json"},
                data=rules, method="PUT")[0] == 200  # fmt: skip
    assert call(guarded, "/api/rules", {"Cookie": "inbound-token=forged-token-xxxxxxxx"})[0] == 401


def test_off_asks_nothing_and_mail_links_stay_open(inbound_factory, guarded) -> None:
    assert call(inbound_factory(), "/api/messages")[0] == 200
    assert call(guarded, "/unsubscribe/nope")[0] == 404  # the link's own answer, not 401
