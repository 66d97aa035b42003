"""The database: one writer with group commit, and reads.

Every write is a `Job` handed to the writer thread. The writer takes all jobs waiting, runs them in one
transaction and commits once, so concurrent requests share one fsync (SQLite WAL, `synchronous=FULL`).
Jobs of a class that defines `run_batch` are run together (one `executemany` for a thousand inserts).
If the batch fails on a database error, each of its jobs is run again in a transaction of its own, so
one bad job fails alone. A job's result reaches its caller only after the commit that made it durable.

On PostgreSQL the same model holds for now, per process: the writer's transactions are a plain `BEGIN`
(READ COMMITTED), and reads take a connection of a small pool, in a few reader threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError

from wagate.crypto.keys import KeyRing
from wagate.store.schema import metadata

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 2000


class Job(Generic[T]):
    """A unit of work run by the writer inside a transaction it shares with other jobs."""

    batched: ClassVar[bool] = False

    def run(self, conn: Connection) -> T:
        raise NotImplementedError

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        return [job.run(conn) for job in jobs]


class BatchJob(Job[T]):
    """A job whose class runs many instances at once through `run_batch`."""

    batched = True


_Pending = tuple[Job[Any], "asyncio.Future[Any]"]


# Drivers SQLAlchemy should use for a URL that names only the database, as users write it.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
READ_POOL_SIZE = 4


def engine_url(url: str) -> str:
    """`url` with the driver wagate uses: `postgresql://...` becomes `postgresql+psycopg://...`."""
    scheme, sep, rest = url.partition("://")
    return f"{_DRIVERS.get(scheme, scheme)}{sep}{rest}"


def make_engine(url: str) -> Engine:
    url = engine_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    # The writer holds one connection; the rest serve the reader threads, `wagate migrate` and start-up.
    return create_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        pool_size=READ_POOL_SIZE + 1,
        max_overflow=2,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so the writer can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL every ~40 MB rather than every 4 MB: fewer, larger checkpoints on the
        # writer's path (measured with W3; see docs/decisions/0004-sqlite-group-commit.md).
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("wagate_begin", "BEGIN"))


class Database:
    """Owns the engine, the writer thread and the connection used for reads."""

    def __init__(self, url: str, keys: KeyRing | None = None) -> None:
        self.url = engine_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = make_engine(self.url)
        # Every connection carries the key ring, so jobs and reads seal and open where they touch the
        # columns (`wagate.store.sealed`); without one, nothing can be sealed or opened.
        self.keys = keys
        if keys is not None:
            self.engine.update_execution_options(wagate_keys=keys)
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._read_conn: Connection | None = None
        self._readers: ThreadPoolExecutor | None = None
        self.commits = 0
        self.jobs_committed = 0

    @property
    def is_running(self) -> bool:
        return self._thread is not None

    # -- lifecycle -------------------------------------------------------------------------------
    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._writer_loop, name="wagate-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None
        if self._readers is not None:
            # A read whose caller was cancelled still runs: let it give its connection back first.
            self._readers.shutdown(wait=True)
            self._readers = None
        self.engine.dispose()

    # -- writes ----------------------------------------------------------------------------------
    async def write(self, job: Job[T]) -> T:
        """Run `job` in the next group commit; returns once it is durable."""
        if self._thread is None:
            return self.write_now(job)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((job, future))
        return await future

    def write_now(self, job: Job[T]) -> T:
        """Run `job` in a transaction of its own, in this thread (CLI and start-up)."""
        with self._begin() as conn:
            return job.run(conn)

    def _begin(self) -> Any:
        conn = self.engine.connect()
        if self.is_sqlite:
            conn = conn.execution_options(wagate_begin="BEGIN IMMEDIATE")
        return _Transaction(conn)

    def _writer_loop(self) -> None:
        conn = self.engine.connect()
        if self.is_sqlite:
            conn = conn.execution_options(wagate_begin="BEGIN IMMEDIATE")
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _run_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]]
        try:
            with conn.begin():
                results = _run_grouped(conn, [job for job, _ in batch])
            outcomes = [(fut, True, res) for (_, fut), res in zip(batch, results, strict=True)]
        except Exception as exc:  # a failed batch is retried job by job below
            # A unique key another process committed while this transaction ran (PostgreSQL): run the
            # job again, and it sees that row this time (an idempotency key answers with its replay).
            if len(batch) == 1 and not isinstance(exc, IntegrityError):
                outcomes = [(batch[0][1], False, exc)]
            else:
                if len(batch) > 1:
                    log.warning("group commit of %d jobs failed (%s); retrying one by one", len(batch), exc)
                outcomes = [_run_alone(conn, job, fut) for job, fut in batch]
        self.commits += 1
        self.jobs_committed += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, items)

    # -- reads -----------------------------------------------------------------------------------
    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run a read on a connection of its own.

        SQLite reads are short indexed lookups: running them inline costs less than a thread hop,
        and WAL lets them proceed while the writer commits. A PostgreSQL read waits on the network, so
        it runs in one of a few reader threads, on a connection of the pool.
        """
        if self.is_sqlite:
            return self.read_now(fn)
        if self._readers is None:
            self._readers = ThreadPoolExecutor(READ_POOL_SIZE, thread_name_prefix="wagate-reader")
        return await asyncio.get_running_loop().run_in_executor(self._readers, self.read_now, fn)

    def read_now(self, fn: Callable[[Connection], T]) -> T:
        if not self.is_sqlite:
            with self.engine.connect() as pooled:  # the pool rolls back on return
                return fn(pooled)
        if self._read_conn is None:
            self._read_conn = self.engine.connect()
        conn = self._read_conn
        try:
            return fn(conn)
        except DBAPIError:
            conn.invalidate()
            self._read_conn = None
            raise
        finally:
            if self._read_conn is not None:
                conn.rollback()


class _Transaction:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        self.conn.begin()
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()


def _run_grouped(conn: Connection, jobs: list[Job[Any]]) -> list[Any]:
    """Run jobs, those of a batched class together, in the order each class first appears."""
    results: list[Any] = [None] * len(jobs)
    groups: dict[type[Job[Any]], list[int]] = {}
    order: list[type[Job[Any]] | int] = []
    for index, job in enumerate(jobs):
        cls = type(job)
        if cls.batched:
            if cls not in groups:
                groups[cls] = []
                order.append(cls)
            groups[cls].append(index)
        else:
            order.append(index)
    for entry in order:
        if isinstance(entry, int):
            results[entry] = jobs[entry].run(conn)
        else:
            indexes = groups[entry]
            for index, result in zip(indexes, entry.run_batch(conn, [jobs[i] for i in indexes]), strict=True):
                results[index] = result
    return results


# A job alone may meet another process's concurrent insert of the same key more than once (each time a
# different transaction); a few tries see them all committed.
_UNIQUE_RETRIES = 3


def _run_alone(
    conn: Connection, job: Job[Any], fut: asyncio.Future[Any]
) -> tuple[asyncio.Future[Any], bool, Any]:
    for attempt in range(_UNIQUE_RETRIES):
        try:
            with conn.begin():
                return fut, True, _run_grouped(conn, [job])[0]
        except IntegrityError as exc:
            if attempt == _UNIQUE_RETRIES - 1:
                return fut, False, exc
        except Exception as exc:
            return fut, False, exc
    raise AssertionError("unreachable")


def _settle(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
