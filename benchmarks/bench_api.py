"""How fast the HTTP API answers and what the token check costs: prints figures, asserts nothing.

    python3 benchmarks/bench_api.py [--requests 2000] [--tokens 50]

1. token check: microseconds per ``TokenRegistry.authenticate`` for the first configured token,
   the last one and an unknown one (they should be equal: every token is always compared).
2. HTTP over loopback: uvicorn on 127.0.0.1 (free port) with a fake controller service; latency
   p50/p99 and requests per second for GET /v1/status, GET /v1/events, a refused request (401)
   and POST /v1/pause, sequential from one httpx client. Bounded by --requests.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.api import create_app  # noqa: E402
from controller.api.auth import TokenRegistry  # noqa: E402
from controller.config import ApiToken, Role  # noqa: E402
from tests.controller.api.conftest import TOKENS, FakeService, make_config  # noqa: E402


def bench_tokens(n: int, rounds: int = 20000) -> None:
    tokens = [
        ApiToken.model_validate(
            {"name": f"t{i}", "token": f"token-{i:04d}-abcdefghij", "role": "viewer"}
        )
        for i in range(n)
    ]
    registry = TokenRegistry(tokens)
    cases = {
        "first": tokens[0].token.get_secret_value(),
        "last": tokens[-1].token.get_secret_value(),
        "unknown": "token-zzzz-abcdefghij",
    }
    print(f"token check with {n} configured tokens ({rounds} rounds each):")
    for label, secret in cases.items():
        start = time.perf_counter()
        for _ in range(rounds):
            registry.authenticate(secret)
        per = (time.perf_counter() - start) / rounds * 1e6
        print(f"  {label:<8} {per:8.2f} µs")


def _serve(app: object) -> tuple[uvicorn.Server, threading.Thread, int]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # with proto 0, Nagle + delayed ACK add ~40 ms to every keep-alive request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, port


def bench_http(requests: int) -> None:
    app = create_app(FakeService(), make_config())
    server, thread, port = _serve(app)
    viewer = {"Authorization": f"Bearer {TOKENS[Role.VIEWER]}"}
    operator = {"Authorization": f"Bearer {TOKENS[Role.OPERATOR]}"}
    plan = [
        ("GET /v1/status", "GET", "/v1/status", viewer, None),
        ("GET /v1/events?limit=50", "GET", "/v1/events?limit=50", viewer, None),
        ("GET /v1/status (401)", "GET", "/v1/status", {"Authorization": "Bearer nope-nope"}, None),
        ("POST /v1/pause", "POST", "/v1/pause", operator, {"reason": "bench"}),
    ]
    print(f"HTTP over 127.0.0.1, {requests} sequential requests each:")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for label, method, path, headers, body in plan:
                client.request(method, path, headers=headers, json=body)  # warm-up
                times = []
                start = time.perf_counter()
                for _ in range(requests):
                    t0 = time.perf_counter()
                    client.request(method, path, headers=headers, json=body)
                    times.append((time.perf_counter() - t0) * 1000)
                total = time.perf_counter() - start
                times.sort()
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                print(
                    f"  {label:<24} p50 {statistics.median(times):6.2f} ms  "
                    f"p99 {p99:6.2f} ms  {requests / total:7.0f} req/s"
                )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("hotline.api").setLevel(logging.ERROR)  # the 401 loop would log each
    bench_tokens(4)
    bench_tokens(args.tokens)
    bench_http(max(1, min(args.requests, 100_000)))


if __name__ == "__main__":
    main()
