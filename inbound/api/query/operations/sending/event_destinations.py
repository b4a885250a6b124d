"""A configuration set's event destinations: create, update, delete (checked by
`inbound/sending/configuration.py`'s `check_event_destination`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.query.operations.sending.configuration_sets import editing_configuration_set
from inbound.errors import (
    EventDestinationAlreadyExists,
    EventDestinationDoesNotExist,
    LimitExceeded,
)
from inbound.sending import configuration as state

Params = dict[str, Any]


def _destination_fields(set_name: str, name: str) -> dict[str, str]:
    return {"ConfigurationSetName": set_name, "EventDestinationName": name}


async def create_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    """Up to 10 event destinations per configuration set (SES quotas) → `LimitExceeded`."""
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        dest = state.check_event_destination(set_name, ctx.region, p["EventDestination"])
        name = dest["Name"]
        if any(d["Name"] == name for d in found["EventDestinations"]):
            raise EventDestinationAlreadyExists(
                f"Event destination <{name}> already exists in configuration set <{set_name}>.",
                **_destination_fields(set_name, name),
            )
        if len(found["EventDestinations"]) >= state.MAX_EVENT_DESTINATIONS:
            raise LimitExceeded(
                f"Maximum number of event destinations ({state.MAX_EVENT_DESTINATIONS}) for "
                f"configuration set <{set_name}> reached."
            )
        found["EventDestinations"].append(dest)
    return {}


def _destination_index(found: Params, set_name: str, name: str) -> int:
    for index, dest in enumerate(found["EventDestinations"]):
        if dest["Name"] == name:
            return index
    raise EventDestinationDoesNotExist(
        f"Event destination <{name}> does not exist in configuration set <{set_name}>.",
        **_destination_fields(set_name, name),
    )


async def update_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    """Replaces the whole destination (a new destination type replaces the old one)."""
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        index = _destination_index(found, set_name, p["EventDestination"]["Name"])
        found["EventDestinations"][index] = state.check_event_destination(
            set_name, ctx.region, p["EventDestination"]
        )
    return {}


async def delete_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        del found["EventDestinations"][
            _destination_index(found, set_name, p["EventDestinationName"])
        ]
    return {}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateConfigurationSetEventDestination": create_configuration_set_event_destination,
    "UpdateConfigurationSetEventDestination": update_configuration_set_event_destination,
    "DeleteConfigurationSetEventDestination": delete_configuration_set_event_destination,
}
