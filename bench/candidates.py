"""Measure the candidates behind docs/decisions/: validation library, outbound HTTP client, web stack.

`python -m bench.candidates` (loopback only). Candidates that are not project dependencies are measured
when installed (`pip install pydantic granian`) and reported as missing otherwise.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import free_port

from bench.common import BaselineServer, machine, require_wrk

BODY = (
    b'{"messaging_product":"whatsapp","to":"+79161234567","type":"text",'
    b'"text":{"body":"Your order is ready"}}'
)


def per_call_us(fn: object, n: int = 50_000) -> float:
    call = fn  # type: ignore[assignment]
    start = time.perf_counter()
    for _ in range(n):
        call()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def validation() -> dict[str, float | str]:
    from wagate.cloudapi.send import parse_send_request

    results: dict[str, float | str] = {
        "msgspec (wagate parse_send_request)": per_call_us(lambda: parse_send_request(BODY))
    }
    results["json.loads only (no validation)"] = per_call_us(lambda: json.loads(BODY))
    if importlib.util.find_spec("pydantic"):
        from pydantic import BaseModel, Field

        class Text(BaseModel):
            body: str = Field(max_length=4096)
            preview_url: bool = False

        class Message(BaseModel):
            messaging_product: str
            to: str
            type: str = "text"
            text: Text | None = None

        results["pydantic v2 model_validate_json"] = per_call_us(lambda: Message.model_validate_json(BODY))
    else:
        results["pydantic v2 model_validate_json"] = "not installed"
    return results


async def client_rate(kind: str, url: str, seconds: float = 5.0) -> float:
    done = 0
    stop = time.monotonic() + seconds
    if kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop:
                    async with session.post(url, data=BODY) as response:
                        await response.read()
                    done += 1

            await asyncio.gather(*(worker() for _ in range(64)))
    else:
        import httpx

        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop:
                    await client.post(url, content=BODY)
                    done += 1

            await asyncio.gather(*(worker() for _ in range(64)))
    return done / seconds


STARLETTE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from wagate.cloudapi.send import parse_send_request
async def send(request):
    parse_send_request(await request.body())
    return Response(b'{"messages":[{"id":"wamid.x"}]}', media_type="application/json")
app = Starlette(routes=[Route("/{version}/{pid}/messages", send, methods=["POST"])])
"""


def web_stacks(seconds: int = 8) -> dict[str, float | str]:
    wrk = require_wrk()
    results: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "starlette_app.py").write_text(STARLETTE_APP)
        lua = Path(tmp, "post.lua")
        lua.write_text(
            f"wrk.method = 'POST'\nwrk.body = '{BODY.decode()}'\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
        )
        servers = {
            "uvicorn + bare ASGI": [
                "uvicorn",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "bench.baseline_app:app",
            ],
            "uvicorn + Starlette + msgspec": [
                "uvicorn",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "starlette_app:app",
            ],
        }
        if importlib.util.find_spec("granian"):
            servers["granian + bare ASGI"] = [
                "granian",
                "--interface",
                "asgi",
                "--no-ws",
                "bench.baseline_app:app",
            ]
            servers["granian + Starlette + msgspec"] = [
                "granian",
                "--interface",
                "asgi",
                "--no-ws",
                "starlette_app:app",
            ]
        else:
            results["granian"] = "not installed"
        for name, command in servers.items():
            port = free_port()
            env = {**os.environ, "PYTHONPATH": f"{tmp}:{Path(__file__).parent.parent}"}
            process = subprocess.Popen(
                [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                time.sleep(2.0)
                out = subprocess.run(
                    [
                        wrk,
                        "-t2",
                        "-c64",
                        f"-d{seconds}s",
                        "-s",
                        str(lua),
                        f"http://127.0.0.1:{port}/v23.0/1/messages",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results[name] = float(out.split("Requests/sec:")[1].split()[0])
            finally:
                process.terminate()
                process.wait(timeout=20)
    return results


def main() -> None:
    report: dict[str, object] = {"machine": machine(), "validation_us_per_request": validation()}
    with BaselineServer() as server:
        url = f"http://127.0.0.1:{server.port}/v23.0/1/messages"
        report["client_requests_per_s_64_concurrent"] = {
            kind: round(asyncio.run(client_rate(kind, url)), 1) for kind in ("aiohttp", "httpx")
        }
    report["web_stack_requests_per_s_wrk_64"] = web_stacks()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
