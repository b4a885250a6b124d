"""The web UI (docs/ui.md): server-rendered pages on the HTTP port, under `/ui/`.

A browser's visit to `/` is sent on to `/ui/received`; SES API requests to `/` (POST, or GET
with `Action=`) never are (`front_door`). The pages read what the JSON API reads, through the
same store; what they change they change through the JSON API (`PUT /api/rules`,
`POST /api/messages/{id}/retry`), from the page's own JavaScript, so the cross-origin guard
(inbound/api/guard.py) and the API's validation apply to the UI as to any client.
"""
