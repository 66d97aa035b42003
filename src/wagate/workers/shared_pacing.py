"""Pacing shared by every worker process: at most a number's rate in any sliding window, through Redis.

One Lua script, run atomically by Redis, keeps the log of a number's recent sends as a sorted set scored
by Redis's own clock (so the workers' clocks never matter) and lets a send go only while the log holds
fewer than `rate` entries younger than the window. It fails safe:

* a missing key starts empty, and after the keys are lost (a restart, `FLUSHALL`) each worker, on its
  first call of the new *epoch*, puts its own sends of the last window back into the log, each at the
  age it has, before it takes another; so the log again counts every send that still matters, spread
  over the window as the network saw them (dating them all "now" would be safe for that second, but
  would let the whole rate go at once a second later, in bursts that a network's jitter turns into
  seconds over the rate);
* with Redis unreachable, a worker paces itself locally at its share of the rate, the rate divided by
  the workers Redis last counted (never faster than the whole rate divided among them), until Redis
  answers again.

The dispatcher's lanes use it when `WAGATE_REDIS_URL` is set (several worker processes), through the
pacer interface of `workers/pacing.py`: the place is taken in the send's own task (`place`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from wagate.domain.pacing import SlidingWindowPacer
from wagate.workers.pacing import Permit

log = logging.getLogger(__name__)

# Shared pacing counts a send when Redis lets it go, a round trip before it reaches the upstream; the
# wider margin absorbs the difference between workers.
SHARED_WINDOW = 1.02
# Workers that called within this long count as alive when the rate is shared out.
WORKER_TTL_US = 10_000_000
# Once Redis failed, how long to pace locally before asking it again.
RETRY_REDIS_AFTER = 1.0

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, worker, known, fresh = ARGV[3], ARGV[4], ARGV[5], ARGV[7]
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
  -- ARGV[6]: how long ago (microseconds, comma-separated) this worker made each send of the window
  local i = 0
  for age in string.gmatch(ARGV[6], '%d+') do
    i = i + 1
    redis.call('ZADD', KEYS[1], now - tonumber(age), worker .. ':' .. epoch .. ':' .. i)
  end
end
local count = redis.call('ZCARD', KEYS[1])
local wait = 0
if count < rate then
  redis.call('ZADD', KEYS[1], now, member)
  count = count + 1
else
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
return {wait, epoch, workers, now, count}
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
        prefix: str = "wagate",
    ) -> None:
        self.client = client
        self.rate = max(1, rate)
        self.window = window
        self.worker_id = worker_id or secrets.token_hex(8)
        tag = f"{{{prefix}:pace:{number_id}}}"
        self.keys = [f"{tag}:log", f"{tag}:epoch", f"{tag}:workers"]
        self._script = client.register_script(_SCRIPT)
        self._epoch = ""
        self._workers = 1
        self._own: deque[float] = deque()  # this worker's sends in the last window (monotonic clock)
        self._seq = 0
        self._fallback: SlidingWindowPacer | None = None
        self._retry_at = 0.0
        # For one window after Redis lost its keys or came back, this worker also keeps to its share:
        # the others may not have put their recent sends back into the log yet.
        self._share: SlidingWindowPacer | None = None
        self._share_until = 0.0
        # When Redis last answered (monotonic), how many sends its log held, and how many were ours.
        self._known: tuple[float, int, int] = (float("-inf"), 0, 0)

    def set_rate(self, rate: int) -> None:
        self.rate = max(1, rate)
        self._fallback = None
        self._share = None

    # -- the pacer interface (`workers/pacing.Pacer`) -------------------------------------------------
    async def ready(self) -> None:
        return None

    def admit(self) -> Permit:
        return Permit(None, placed=False)

    async def place(self, permit: Permit, stopping: Callable[[], bool]) -> bool:
        """Take a place just before the send: what Redis counts is when the send leaves."""
        try:
            while not stopping():
                grant = await self.take()
                if grant.wait <= 0:
                    return True
                await asyncio.sleep(grant.wait)
            return False
        finally:
            permit.mark_placed()

    def started(self, permit: Permit) -> None:
        return None

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
        if self._share is not None:
            if now >= self._share_until:
                self._share = None
            elif (delay := self._share.delay(now)) > 0:
                return Grant(delay, shared=True)
        self._seq += 1
        try:
            wait_us, epoch, workers, at_us, count = await self._script(
                keys=self.keys,
                args=[
                    self.rate,
                    int(self.window * 1_000_000),
                    f"{self.worker_id}:{self._seq}",
                    self.worker_id,
                    self._epoch,
                    ",".join(str(int((now - sent) * 1_000_000)) for sent in self._own),
                    secrets.token_hex(8),
                    WORKER_TTL_US,
                ],
            )
        except (RedisError, OSError) as exc:
            # Unreachable, too slow, or refusing (out of memory under `noeviction`): pace locally.
            return self._take_locally(now, exc)
        epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        came_back = self._fallback is not None
        if came_back:
            log.info("pacing of %s shared through Redis again", self.keys[0])
            self._fallback = None
        if came_back or (self._epoch and epoch != self._epoch):
            # A fresh Redis counts only the workers that called it since: the share stays the one
            # computed with every worker known before.
            self._share = self._share_pacer(max(self._workers, int(workers)), now)
            self._share_until = now + self.window
        self._known = (now, int(count), len(self._own) + (1 if int(wait_us) <= 0 else 0))
        self._epoch = epoch
        self._workers = max(1, int(workers))
        if int(wait_us) > 0:
            return Grant(int(wait_us) / 1_000_000, shared=True)
        if self._share is not None:
            delay = self._share.delay(now)
            if delay > 0:
                # Redis counted this send that will not go now: the safe side of a rare moment.
                return Grant(delay, shared=True)
            self._share.record(now)
        self._own.append(now)
        return Grant(0.0, shared=True, at_us=int(at_us))

    def _share_pacer(self, workers: int, now: float) -> SlidingWindowPacer:
        """A local pacer at this worker's share of the rate, holding its sends of the last window, and
        the places the others took beyond their shares when Redis last counted them (the split
        between workers is never exactly even: without these, the worker that had taken fewer would
        take its full share on top of the others' excess)."""
        share = max(1, self.rate // max(1, workers))
        pacer = SlidingWindowPacer(share, self.window)
        for sent in self._own:
            pacer.record(sent)
        at, count, own = self._known
        if now - at < self.window:
            excess = (count - own) - (self.rate - share)
            for _ in range(max(0, excess)):
                pacer.record(at)
        return pacer

    def _take_locally(self, now: float, exc: BaseException | None) -> Grant:
        if exc is not None:
            self._retry_at = now + RETRY_REDIS_AFTER
        if self._fallback is None:
            # The sends this worker made in the last window still count against its share.
            self._fallback = self._share_pacer(self._workers, now)
            log.warning(
                "Redis unreachable (%r): pacing %s locally at %d/s, this worker's share of %d/s",
                exc,
                self.keys[0],
                self._fallback.rate,
                self.rate,
            )
        delay = self._fallback.delay(now)
        if delay > 0:
            return Grant(delay, shared=False)
        self._fallback.record(now)
        self._own.append(now)
        return Grant(0.0, shared=False, at_us=int(now * 1_000_000))
