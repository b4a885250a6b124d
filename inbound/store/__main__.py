"""The store's writer process (store/writer_child.py): `python -m inbound.store DATA_DIR`,
started by the server, never by hand; with `--listen FD`, the workers' shared writer
(store/shared_writer_child.py), started by their supervisor."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from inbound.store.writer_child import serve

if __name__ == "__main__":
    logging.basicConfig(format="inbound store writer: %(levelname)s %(message)s")
    if sys.argv[2:3] == ["--listen"]:  # the workers' shared writer
        from inbound.store.shared_writer_child import serve_shared  # not in the plain child

        serve_shared(Path(sys.argv[1]), socket.socket(fileno=int(sys.argv[3])))
    else:
        serve(Path(sys.argv[1]))
