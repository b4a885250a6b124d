"""Multi-region endpoints through boto3 `sesv2`: stored in the primary Region with their
secondary one, CREATING when made and READY from then on, listed by name in pages, deleted
(DELETING), and checked as docs/behaviour.md says; a send may name one by its id."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error

SIMPLE = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
TO = {"ToAddresses": ["success@simulator.amazonses.com"]}


def secondary(server: RunningInbound) -> str:
    return "eu-west-1" if server.settings.region != "eu-west-1" else "us-east-1"


def create(v2: Any, name: str, region: str, **more: Any) -> Any:
    return v2.create_multi_region_endpoint(**params(name, region), **more)


def params(name: str, region: str) -> dict[str, Any]:
    return {"EndpointName": name, "Details": {"RoutesDetails": [{"Region": region}]}}


def test_lifecycle(v2: Any, server: RunningInbound) -> None:
    other = secondary(server)
    created = create(v2, "global", other, Tags=[{"Key": "a", "Value": "1"}])
    assert created["Status"] == "CREATING"
    got = v2.get_multi_region_endpoint(EndpointName="global")
    assert got["EndpointId"] == created["EndpointId"]
    assert got["Status"] == "READY"
    assert got["Routes"] == [{"Region": server.settings.region}, {"Region": other}]
    assert got["CreatedTimestamp"] == got["LastUpdatedTimestamp"]
    listed = v2.list_multi_region_endpoints()["MultiRegionEndpoints"]
    assert [(e["EndpointName"], e["Regions"], e["Status"]) for e in listed] == [
        ("global", [server.settings.region, other], "READY")
    ]
    arn = (
        f"arn:aws:ses:{server.settings.region}:{server.settings.account_id}:"
        "multi-region-endpoint/global"
    )
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]

    assert v2.delete_multi_region_endpoint(EndpointName="global")["Status"] == "DELETING"
    assert v2.list_multi_region_endpoints()["MultiRegionEndpoints"] == []
    assert error(v2.get_multi_region_endpoint, EndpointName="global") == (
        "NotFoundException",
        404,
        "Multi-region endpoint <global> does not exist.",
    )


def test_pages_and_regions(v2: Any, server: RunningInbound) -> None:
    names = [f"e{i}" for i in range(5)]
    for name in names:
        create(v2, name, secondary(server))
    first = v2.list_multi_region_endpoints(PageSize=2)
    seen = [e["EndpointName"] for e in first["MultiRegionEndpoints"]]
    token = first["NextToken"]
    while token:
        page = v2.list_multi_region_endpoints(PageSize=2, NextToken=token)
        seen += [e["EndpointName"] for e in page["MultiRegionEndpoints"]]
        token = page.get("NextToken")
    assert seen == names
    # Another Region (a client signing for it) has its own endpoints: none.
    elsewhere = boto3.client(
        "sesv2",
        endpoint_url=server.api_url,
        region_name=secondary(server),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert elsewhere.list_multi_region_endpoints()["MultiRegionEndpoints"] == []
    assert error(elsewhere.get_multi_region_endpoint, EndpointName="e0")[:2] == (
        "NotFoundException",
        404,
    )


def test_errors(v2: Any, server: RunningInbound) -> None:
    create(v2, "global", secondary(server))
    make = v2.create_multi_region_endpoint
    assert error(make, **params("global", secondary(server))) == (
        "AlreadyExistsException",
        400,
        "Multi-region endpoint <global> already exists.",
    )
    for name, region in [("same", server.settings.region), ("bad", "x y"), ("a.b", "eu-west-3")]:
        assert error(make, **params(name, region))[:2] == ("BadRequestException", 400)
    two = {"RoutesDetails": [{"Region": "eu-west-1"}, {"Region": "eu-west-2"}]}
    assert error(v2.create_multi_region_endpoint, EndpointName="two", Details=two) == (
        "BadRequestException",
        400,
        "RoutesDetails must contain exactly one route configuration.",
    )
    assert error(v2.delete_multi_region_endpoint, EndpointName="none")[:2] == (
        "NotFoundException",
        404,
    )


def _send(server: RunningInbound, endpoint_id: str) -> tuple[int, dict[str, Any]]:
    """SendEmail with an EndpointId, as JSON over HTTP: botocore signs such a request with
    SigV4A, which needs botocore[crt] (not installed), and sends it to the endpoint's host."""
    body = {
        "FromEmailAddress": "a@example.com",
        "Destination": TO,
        "Content": SIMPLE,
        "EndpointId": endpoint_id,
    }
    request = urllib.request.Request(
        f"{server.api_url}/v2/email/outbound-emails",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_send_names_an_endpoint(v2: Any, server: RunningInbound) -> None:
    endpoint_id = create(v2, "global", secondary(server))["EndpointId"]
    status, sent = _send(server, endpoint_id)
    assert status == 200 and sent["MessageId"]
    status, refused = _send(server, "nope.none")
    assert status == 404
    assert refused["message"] == "Multi-region endpoint with id <nope.none> does not exist."
