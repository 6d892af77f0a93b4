"""A tiny, fast HTTP backend for the proxy benchmark (issue 4).

    GET …/small             -> 200, 13 bytes ("hello, proxy\\n"), keep-alive
    GET …/big?bytes=N       -> 200, N bytes (default 1 GiB) with Content-Length,
                               written in 1 MiB chunks from one buffer; each
                               chunk waits for the socket (bounded memory)

Any path ending in ``/small`` or ``/big`` answers, so it works whether a proxy
strips its prefix or keeps it. It needs only tornado, and runs the same under
the project's ``.venv`` (as a job) and directly.

    python benchmarks/upstream_bench.py --port 8123 [--address localhost]
"""

from __future__ import annotations

import argparse
import asyncio

import tornado.web

SMALL = b"hello, proxy\n"
CHUNK = 1 << 20
BUFFER = bytes(range(256)) * (CHUNK // 256)


class Small(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write(SMALL)


class Big(tornado.web.RequestHandler):
    async def get(self) -> None:
        size = int(self.get_argument("bytes", str(1 << 30)))
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(size))
        left = size
        while left > 0:
            n = min(left, CHUNK)
            self.write(BUFFER if n == CHUNK else BUFFER[:n])
            left -= n
            await self.flush()


def make_app() -> tornado.web.Application:
    return tornado.web.Application([(r".*/small", Small), (r".*/big", Big)])


async def serve(port: int, address: str) -> None:
    make_app().listen(port, address=address, xheaders=False)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", default="localhost", help="localhost binds 127.0.0.1 and ::1")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.address))


if __name__ == "__main__":
    main()
