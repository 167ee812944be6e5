"""Worker processes, for both engines: how many, how they start, how they are set up and
stopped.

The local engine maps rows over a :class:`WorkerPool` (a fork server's children, each on one
core, each sending its results back through one queue); the Ray engine sets its task workers
up with the same :func:`worker_setup`. Linux plumbing lives here and nowhere else: glibc's
``mallopt`` (:func:`keep_freed_memory`) and ``prctl(PR_SET_PDEATHSIG)``
(:func:`die_with_parent`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import vidaug.datasets  # noqa: F401 - sets OpenCV's and FFmpeg's logging up before cv2 loads

__all__ = [
    "WORKER_BYTES",
    "WorkerPool",
    "default_workers",
    "die_with_parent",
    "keep_freed_memory",
    "memory_bytes",
    "pool_context",
    "worker_queue",
    "worker_setup",
]

#: Worker processes get at most one per this much memory (a 1080p clip streams in well under).
WORKER_BYTES = 2 * 2**30
#: The module a fork server imports first (:func:`pool_context`).
FORKSERVER_PRELOAD = "vidaug.pipelines._forkserver"
#: multiprocessing's resource tracker warns about the semaphores of a killed run when it
#: removes them (``There appear to be 5 leaked semaphore objects``): nothing to act on.
_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"

_queue: Any = None  # in a pool's worker: the queue its results go to


def default_workers(rows: int = 1 << 30) -> int:
    """Worker processes for a run: the cores this process may use, at most one per row and
    at most one per ``WORKER_BYTES`` of memory.

    Args:
        rows: the rows (clips) of the run.

    Returns:
        A count ≥ 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, rows, memory_bytes() // WORKER_BYTES or 1))


def memory_bytes() -> int:
    """Physical memory (``sysconf``; 8 GB when unknown)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 2**30


def worker_setup() -> None:
    """A worker process holds one core: OpenCV and FFmpeg on one thread, freed buffers kept."""
    import cv2  # loaded already, by vidaug.datasets

    cv2.setNumThreads(1)  # one process per core already
    os.environ["OPENCV_FFMPEG_THREADS"] = "1"  # FFmpeg's decoder threads too (read at open)
    keep_freed_memory()


def _libc(**kw: Any) -> Any:
    """glibc on Linux (None elsewhere, or when it cannot be loaded)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, **kw)
    except OSError:
        return None


def keep_freed_memory() -> None:
    """glibc: keep freed clip buffers for reuse instead of returning them to the kernel and
    faulting fresh pages in for the next clip (a worker allocates the same sizes clip after
    clip; this saves about half of its kernel time)."""
    libc = _libc()
    try:
        libc.mallopt(-3, 256 * 2**20)  # M_MMAP_THRESHOLD: buffers below it come from the heap
        libc.mallopt(-1, 512 * 2**20)  # M_TRIM_THRESHOLD: keep up to this much freed heap
    except AttributeError:  # no glibc (or not Linux: libc is None)
        pass


def die_with_parent() -> None:
    """Linux: have the kernel send this process SIGTERM when its parent dies (even by
    SIGKILL), so no worker outlives the run."""
    libc = _libc(use_errno=True)
    try:
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except AttributeError:
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def worker_init(queue: Any = None) -> None:
    """A pool worker's start: :func:`worker_setup`, the results queue, signals, and death with
    its parent."""
    global _queue
    _queue = queue
    worker_setup()
    # the parent stops its workers itself (on Ctrl-C it terminates them): Ctrl-C is ignored
    # here and SIGTERM ends the worker at once, whatever handlers a fork inherited
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()


def worker_queue() -> Any:
    """In a pool's worker: the queue to the parent (see :meth:`WorkerPool.results`)."""
    return _queue


def pool_context() -> Any:
    """Linux: a fork server (a clean process that imports vidaug once; each worker is then a
    fork of it and starts in milliseconds, where ``spawn`` re-imports numpy, OpenCV and
    vidaug in every worker: ≈ 0.5 s of CPU each). Never a plain fork of this process: a
    process that has used OpenCV's thread pool, Ray, gRPC or TensorFlow hangs its forked
    children. Elsewhere ``spawn``."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([FORKSERVER_PRELOAD])
    return ctx


def _quiet_resource_tracker() -> None:
    """Start the resource tracker (it passes ``sys.warnoptions`` on) without that warning."""
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)


class WorkerPool:
    """``workers`` processes from :func:`pool_context`, set up by :func:`worker_init`; a task
    sends results to the parent with ``worker_queue().put(...)`` as it goes, and the parent
    takes them with :meth:`results`."""

    def __init__(self, workers: int) -> None:
        self.context = pool_context()
        _quiet_resource_tracker()
        self.queue = self.context.SimpleQueue()
        self.executor = ProcessPoolExecutor(
            workers, mp_context=self.context, initializer=worker_init, initargs=(self.queue,)
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` in a worker."""
        return self.executor.submit(fn, *args)

    def scratch_dir(self) -> str | None:
        """The temporary folder multiprocessing keeps the fork server's socket in (None without
        a fork server); ask once a task is submitted."""
        if self.context.get_start_method() != "forkserver":
            return None
        return multiprocessing.util.get_temp_dir()

    def results(self) -> Iterator[Any]:
        """What the workers have queued so far."""
        while not self.queue.empty():
            yield self.queue.get()

    def close(self) -> None:
        """Wait for the tasks, then stop the workers."""
        self.executor.shutdown(wait=True)

    def kill(self) -> None:
        """Stop the workers at once (SIGTERM), dropping queued tasks."""
        procs = list(getattr(self.executor, "_processes", {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
