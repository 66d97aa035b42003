"""Pacing shared by every worker process: at most a number's rate in any sliding window, through Redis.

One Lua script, run atomically by Redis, keeps the log of a number's recent sends as a sorted set scored
by Redis's own clock (so the workers' clocks never matter) and lets a send go only while the log holds
fewer than `rate` entries younger than the window. It fails safe:

* a missing key starts empty, and after the keys are lost (a restart, `FLUSHALL`) each worker, on its
  first call of the new *epoch*, puts its own sends of the last window back into the log before it
  takes another, so the log again counts every send that still matters (dated now: the conservative
  side);
* with Redis unreachable, a worker paces itself locally at its share of the rate, the rate divided by
  the workers Redis last counted (never faster than the whole rate divided among them), until Redis
  answers again.

Not yet used by the dispatcher: it belongs to running several worker processes (the scale-out work).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wagate.domain.pacing import SlidingWindowPacer

log = logging.getLogger(__name__)

# Workers that called within this long count as alive when the rate is shared out.
WORKER_TTL_US = 10_000_000
# Once Redis failed, how long to pace locally before asking it again.
RETRY_REDIS_AFTER = 1.0

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, worker, known, own, fresh = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = fresh
  redis.call('SET', KEYS[2], epoch)
end
redis.call('PEXPIRE', KEYS[2], 600000)
redis.call('ZADD', KEYS[3], now, worker)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[8]))
redis.call('PEXPIRE', KEYS[3], 600000)
local workers = redis.call('ZCARD', KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if epoch ~= known then
  for i = 1, own do
    redis.call('ZADD', KEYS[1], now, worker .. ':' .. epoch .. ':' .. i)
  end
end
local count = redis.call('ZCARD', KEYS[1])
local wait = 0
if count < rate then
  redis.call('ZADD', KEYS[1], now, member)
else
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
return {wait, epoch, workers, now}
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer to one attempt: `wait` seconds before trying again (0: the send may go now)."""

    wait: float
    shared: bool  # decided by Redis (False: by the local fallback)
    # When the send was let go, in microseconds: Redis's clock if shared, this process's monotonic clock
    # if not.
    at_us: int | None = None


class SharedPacer:
    """The pacer of one business number, shared through Redis by every worker that sends for it."""

    def __init__(
        self,
        client: aioredis.Redis,
        number_id: int,
        rate: int,
        *,
        window: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        self.client = client
        self.rate = max(1, rate)
        self.window = window
        self.worker_id = worker_id or secrets.token_hex(8)
        tag = f"{{wagate:pace:{number_id}}}"
        self.keys = [f"{tag}:log", f"{tag}:epoch", f"{tag}:workers"]
        self._script = client.register_script(_SCRIPT)
        self._epoch = ""
        self._workers = 1
        self._own: deque[float] = deque()  # this worker's sends in the last window (monotonic clock)
        self._seq = 0
        self._fallback: SlidingWindowPacer | None = None
        self._retry_at = 0.0

    def set_rate(self, rate: int) -> None:
        self.rate = max(1, rate)
        self._fallback = None

    @property
    def workers(self) -> int:
        """How many workers shared the number when Redis last answered."""
        return self._workers

    async def take(self) -> Grant:
        """Try to take a place for one send now."""
        now = time.monotonic()
        while self._own and self._own[0] <= now - self.window:
            self._own.popleft()
        if self._fallback is not None and now < self._retry_at:
            return self._take_locally(now, None)
        self._seq += 1
        try:
            wait_us, epoch, workers, at_us = await self._script(
                keys=self.keys,
                args=[
                    self.rate,
                    int(self.window * 1_000_000),
                    f"{self.worker_id}:{self._seq}",
                    self.worker_id,
                    self._epoch,
                    len(self._own),
                    secrets.token_hex(8),
                    WORKER_TTL_US,
                ],
            )
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            return self._take_locally(now, exc)
        if self._fallback is not None:
            log.info("pacing of %s shared through Redis again", self.keys[0])
            self._fallback = None
        self._epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        self._workers = max(1, int(workers))
        if int(wait_us) > 0:
            return Grant(int(wait_us) / 1_000_000, shared=True)
        self._own.append(now)
        return Grant(0.0, shared=True, at_us=int(at_us))

    def _take_locally(self, now: float, exc: BaseException | None) -> Grant:
        if exc is not None:
            self._retry_at = now + RETRY_REDIS_AFTER
        if self._fallback is None:
            share = max(1, self.rate // self._workers)
            log.warning(
                "Redis unreachable (%r): pacing %s locally at %d/s, this worker's share of %d/s",
                exc,
                self.keys[0],
                share,
                self.rate,
            )
            self._fallback = SlidingWindowPacer(share, self.window)
            # The sends this worker made in the last window still count against its share.
            for sent in self._own:
                self._fallback.record(sent)
        delay = self._fallback.delay(now)
        if delay > 0:
            return Grant(delay, shared=False)
        self._fallback.record(now)
        self._own.append(now)
        return Grant(0.0, shared=False, at_us=int(now * 1_000_000))
