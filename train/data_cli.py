"""wn-data: fetch a known data set, verify its SHA-256, report what it holds.

    wn-data names                      # -> data/names.txt: 32033 items, sha256 0a30b555...
    wn-data names --data-dir /tmp/d --url http://mirror.example/names.txt
"""

from __future__ import annotations

from pathlib import Path

import click

from wavenet_edge.runtime.common.commands import command
from wavenet_edge.runtime.common.dataset import file_sha256, read_items

from .download import DATA_DIR_ENV, KNOWN_DATASETS, fetch_dataset

__all__ = ["main"]


@command(help=f"""Fetch the known data set NAME ({', '.join(sorted(KNOWN_DATASETS))}),
check its SHA-256 and print its path, item count and hash. A verified copy already in the data directory
is reused without any download.""")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where data sets are kept [default: ${DATA_DIR_ENV} or ./data].")
@click.option("--url", default=None, help="Download from this URL instead (a mirror); the hash is still checked.")
def main(name: str, data_dir: Path | None, url: str | None) -> None:
    path = fetch_dataset(name, data_dir, url=url)
    items = read_items(path)
    click.echo(f"{path}: {len(items)} items, sha256 {file_sha256(path)}")
