"""The one way normprop starts a Dask cluster of its own (``normprop run --workers N``, ``$NORMPROP_WORKERS``)."""

from __future__ import annotations

import logging
from typing import Any

from normprop.repro.runtime import kernel_environment


def local_cluster(workers: int) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` processes with one thread each, on 127.0.0.1 (its HTTP
    endpoints on a free port): a task runs one per thread, with one torch thread."""
    from distributed import LocalCluster  # imported here: the CLI starts without Dask unless a cluster is asked for

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
        silence_logs=logging.ERROR, env=kernel_environment(),  # the kernels' numerical code paths
    )  # fmt: skip
