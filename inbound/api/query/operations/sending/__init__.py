"""Sending-side configuration: configuration sets and event destinations, tracking,
delivery and reputation options, templates, custom verification templates, account sending,
quotas and statistics (stored, validated and described; sending itself is `send.py`), one
module per family: `configuration_sets.py` (with their options), `event_destinations.py`,
`templates.py`, `verification_templates.py`, `account.py`.

The state and its lock are the server's `SendingConfiguration` (`inbound/sending/service.py`);
validation and paging are in `inbound/sending/configuration.py`, the template engine in
`inbound/sending/templates.py`.

Error messages follow SES's `<name>` style ("Configuration set <x> does not exist."); those
AWS does not document are marked UNCONFIRMED there.
"""

from __future__ import annotations

from inbound.api.query.operations.sending import (
    account,
    configuration_sets,
    event_destinations,
    templates,
    verification_templates,
)

OPERATIONS = {
    **configuration_sets.OPERATIONS,
    **event_destinations.OPERATIONS,
    **templates.OPERATIONS,
    **verification_templates.OPERATIONS,
    **account.OPERATIONS,
}
