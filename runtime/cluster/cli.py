"""wn-dask: wn-eval's scoring and wn-generate's names as Dask jobs (`pip install "wavenet-edge[scale]"`).

    wn-dask score --data items.csv --column name --out scored.parquet          # a local cluster, every core
    wn-dask score --data items.parquet --out scored/ --scheduler tcp://10.0.0.5:8786
    wn-dask generate -n 1000000 --seed 1 --out names.txt --scheduler tcp://10.0.0.5:8786

Errors are one line with the exit status of every wn-* command (runtime/common/commands.py): 2 for bad
input (a missing input or column, a model a worker cannot open), 1 for a cluster that fails the job (an
unreachable scheduler, workers that die beyond Dask's retries), 130 for Ctrl-C; none leaves an output.
"""

from __future__ import annotations

import os
import sys

import click

from ..cli import _model_options, sampling_options
from ..common.commands import BATCH_SIZE, CONTEXT_SETTINGS, THREADS, OneLineCommand
from ..common.errors import WavenetEdgeError
from ..generation import DEFAULT_BATCH_SIZE

__all__ = ["main"]

PARTITIONS = click.IntRange(1, 1_000_000)


class OneLineGroup(OneLineCommand, click.Group):
    """A group of subcommands with the one-line errors and exit statuses of OneLineCommand."""


def _cluster_options(func):
    func = click.option("--verbose", is_flag=True, help="The cluster, partitions and time on stderr.")(func)
    func = click.option("--connect-timeout", type=click.FloatRange(0.1, 3600), default=20.0, show_default=True,
                        metavar="SECONDS", help="How long to wait for the scheduler and its first worker.")(func)
    func = click.option("--partitions", type=PARTITIONS, default=None,
                        help="Tasks to split the job into (default: one per 100,000 rows or names, and at least "
                             "two per worker).")(func)
    func = click.option("--threads", type=THREADS, default=None,
                        help="Without --scheduler: the local cluster's worker processes, one thread each "
                             "(default: every CPU here).")(func)
    func = click.option("--scheduler", metavar="ADDRESS", default=None,
                        help="A Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster).")(func)
    return click.option("--provider", default="auto", show_default=True,
                        help="auto, cpu, cuda or an exact ONNX Runtime provider name, on every worker.")(func)


def _local_threads(scheduler: str | None, threads: int | None) -> int:
    if scheduler is not None:
        if threads is not None:
            raise WavenetEdgeError("--threads sizes a local cluster: with --scheduler, the cluster's workers decide")
        return 0
    if threads is not None:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _report(verbose: bool, client, result, scheduler: str | None) -> None:
    if verbose:
        where = scheduler or "a local cluster"
        click.echo(f"{where}: {len(client.nthreads())} workers, {result.partitions} partitions, "
                   f"{result.seconds:.2f} s", err=True)


@click.group(cls=OneLineGroup, context_settings=CONTEXT_SETTINGS)
def main():
    """Score a column of a CSV or Parquet file, or generate a seed's names, on a Dask cluster: the workers
    write the output themselves, and it appears only when the job has succeeded."""


@main.command("score", cls=OneLineCommand, context_settings=CONTEXT_SETTINGS,
              short_help="Score a column of a CSV or Parquet file.")
@click.option("--data", "data_path", metavar="FILE", required=True,
              help="A .csv file with a header row, or a .parquet file (every worker must see it at this path).")
@click.option("--column", default="name", show_default=True, help="The column of items to score.")
@click.option("--out", "out", metavar="PATH", required=True,
              help="A .parquet or .csv file, or a directory of part files (a path ending with / or without a "
                   "suffix).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default=None,
              help="The part files of a directory output (default: parquet); a file's name says its own.")
@_model_options
@_cluster_options
def score_command(data_path, column, out, fmt, onnx_path, shipped, provider, scheduler, threads, partitions,
                  connect_timeout, verbose):
    """Every row of --data with logprob (log p(item + end token)), nll_per_char and unscored (empty, or why
    the row has no score) beside it. Items are the column's cells with surrounding whitespace stripped, as
    wn-eval reads them; the output's column is the input's, unchanged."""
    from .jobs import cluster_client, prepare_score, resolve_model, score_file

    model = resolve_model(onnx_path, shipped)
    prepared = prepare_score(data_path, out, column, fmt)  # bad input is found before a cluster is started
    local = _local_threads(scheduler, threads)
    with cluster_client(scheduler, local, connect_timeout, quiet=not verbose) as client:
        result = score_file(client, data_path, out, column=column, model=model, provider=provider,
                            partitions=partitions, fmt=fmt, prepared=prepared)
        _report(verbose, client, result, scheduler)
    unscored = result.rows - result.scored
    note = f" ({unscored} without a score: see the unscored column)" if unscored else ""
    click.echo(f"{result.rows} rows scored into {out}{note}")


@main.command("generate", cls=OneLineCommand, context_settings=CONTEXT_SETTINGS,
              short_help="wn-generate's names for a seed.")
@click.option("-n", "n", type=click.IntRange(1, None), default=10, show_default=True, help="Number of names.")
@click.option("--out", "out", metavar="PATH", required=True,
              help="A file (exactly wn-generate's output), or a directory of part files (a path ending with / or "
                   "without a suffix).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help='text: one name per line; jsonl: {"name", "logprob"} per line.')
@sampling_options
@click.option("--batch-size", type=BATCH_SIZE, default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Names generated side by side on a worker (does not change which names a seed gives).")
@_model_options
@_cluster_options
def generate_command(n, seed, out, fmt, temperature, top_k, top_p, prefix, max_len, batch_size, onnx_path, shipped,
                     provider, scheduler, threads, partitions, connect_timeout, verbose):
    """wn-generate's names for a seed, drawn on the cluster: the output is byte for byte what `wn-generate -n N
    --seed S` (with the same options) prints, whatever the number of workers and partitions."""
    from .jobs import cluster_client, generate_file, generate_target, resolve_model

    model = resolve_model(onnx_path, shipped)
    generate_target(out, fmt)  # bad output path: before a cluster is started
    if seed is None:
        import secrets

        seed = secrets.randbits(63)
    if verbose:
        click.echo(f"seed: {seed}", err=True)
    local = _local_threads(scheduler, threads)
    with cluster_client(scheduler, local, connect_timeout, quiet=not verbose) as client:
        result = generate_file(client, out, n, seed, model=model, provider=provider, partitions=partitions, fmt=fmt,
                               temperature=temperature, top_k=top_k, top_p=top_p, prefix=prefix, max_len=max_len,
                               batch_size=batch_size)
        _report(verbose, client, result, scheduler)
    click.echo(f"{result.rows} names into {out}")


if __name__ == "__main__":
    sys.exit(main())
