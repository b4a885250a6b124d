"""A server's registry of an API's operations, read from their modules with its first use.

`InboundServer.v2_operations` is one: SES v2's ~20 operation modules are memory a running
server keeps (about 0.5 MB of RSS), and a server that receives mail may never be asked for
one; the first SES v2 request imports them, as the first SES request imports botocore
(docs/aws-endpoints.md, "Memory"). Tests change the registry of their own server (put a fake
handler in, take one out) as they would a dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping

from inbound.api.query.operations import Handler


class Registry(MutableMapping[str, Handler]):
    def __init__(self, load: Callable[[], Mapping[str, Handler]]) -> None:
        self._load = load
        self._handlers: dict[str, Handler] | None = None

    def _loaded(self) -> dict[str, Handler]:
        if self._handlers is None:
            self._handlers = dict(self._load())
        return self._handlers

    def __getitem__(self, name: str) -> Handler:
        return self._loaded()[name]

    def __setitem__(self, name: str, handler: Handler) -> None:
        self._loaded()[name] = handler

    def __delitem__(self, name: str) -> None:
        del self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())
