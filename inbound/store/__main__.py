"""The store's writer process (store/writer_child.py): `python -m inbound.store DATA_DIR`,
started by the server, never by hand."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from inbound.store.writer_child import serve

if __name__ == "__main__":
    logging.basicConfig(format="inbound store writer: %(levelname)s %(message)s")
    serve(Path(sys.argv[1]))
