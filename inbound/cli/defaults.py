"""The configuration that ships inside the package, how a command finds its config, and
`inbound init`, which copies the shipped files out for editing (docs/running.md).

The package's `defaults/` holds the repository's `config/` files (links in the source tree,
copies in a wheel), so `pip install` + `inbound serve` runs from any directory with the same
configuration `make run` uses.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"
# inbound.toml first: the one `inbound init` says to run with
FILES = sorted(
    (p.name for p in DEFAULTS.iterdir() if p.is_file()), key=lambda n: n != "inbound.toml"
)
# Looked for in the working directory, in order, when neither --config nor INBOUND_CONFIG
# names one: what `inbound init` writes, then the repository's own.
LOCAL_CONFIGS = (Path("inbound.toml"), Path("config/inbound.toml"))


def find_config(flag: Path | None, environ: Mapping[str, str]) -> Path:
    """--config > $INBOUND_CONFIG > ./inbound.toml > ./config/inbound.toml > the shipped one."""
    if flag is not None:
        return flag
    if environ.get("INBOUND_CONFIG"):
        return Path(environ["INBOUND_CONFIG"])
    return next((p for p in LOCAL_CONFIGS if p.is_file()), DEFAULTS / "inbound.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", type=Path, default=Path("."), help="where to write them (.)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")


def run(args: argparse.Namespace) -> int:
    """Write the shipped files (inbound.toml, rules.json, handlers.py, dns.zone) into
    `args.dir`."""
    targets = [args.dir / name for name in FILES]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.force:
        print(
            f"inbound: {', '.join(existing)} already exist (--force overwrites them)",
            file=sys.stderr,
        )
        return 1
    args.dir.mkdir(parents=True, exist_ok=True)
    for name, target in zip(FILES, targets, strict=True):
        shutil.copyfile(DEFAULTS / name, target)
        print(f"inbound: wrote {target}")
    print(f"inbound: edit them, then run  inbound serve --config {targets[0]}")
    return 0
