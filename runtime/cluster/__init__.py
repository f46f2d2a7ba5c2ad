"""Scoring and generation on a Dask cluster (`pip install "wavenet-edge[scale]"`; the command: wn-dask).

    from wavenet_edge.runtime.cluster import cluster_client, generate_file, score_file

    if __name__ == "__main__":                       # Dask starts worker processes: a script needs the guard
        with cluster_client(None, threads=2) as client:                   # or cluster_client("tcp://host:8786")
            score_file(client, "items.csv", "scored.parquet", column="name")
            generate_file(client, "names.txt", 100_000, seed=1)          # = wn-generate -n 100000 --seed 1

Modules: tables.py (reading and writing partitions, the string rules; no Dask), tasks.py (what a worker
runs), jobs.py (the client: plan, check, submit, wait, finish atomically), cli.py (wn-dask).
"""

from ..common.launch import lazy_attributes

_LAZY = {"cluster_client": ".jobs", "generate_file": ".jobs", "score_file": ".jobs", "ClusterError": ".jobs",
         "JobResult": ".jobs", "load_cached": ".tasks", "score_rows": ".tasks"}

__all__ = ["ClusterError", "JobResult", "cluster_client", "generate_file", "load_cached", "score_file", "score_rows"]

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
