"""A small HTTP server on 127.0.0.1 for the provider fakes: it records every request
and answers from a script, so a test can check what the real client library sent and
make the provider fail on purpose."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per field."""
        return {name: values[-1] for name, values in parse_qs(self.body.decode()).items()}

    @property
    def query(self) -> dict[str, str]:
        return {name: values[-1] for name, values in parse_qs(urlsplit(self.path).query).items()}


@dataclass
class Reply:
    status: int
    payload: dict


# Builds the reply to a request the script has nothing queued for.
Responder = Callable[[Recorded], Reply]


@dataclass
class FakeServer:
    respond: Responder
    requests: list[Recorded] = field(default_factory=list)
    # Replies queued by a test, used in order before `respond`.
    scripted: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        # Port 0: the system picks a free port, so pytest-xdist workers never collide.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # stop(), at the end of every test with a fake, waits for the serving loop to
        # look up from its wait, which it does every half second by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer_next(self, *replies: Reply) -> None:
        with self._lock:
            self.scripted.extend(replies)

    def _reply_to(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.scripted:
                return self.scripted.pop(0)
        return self.respond(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                reply = fake._reply_to(request)
                data = json.dumps(reply.payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format, *args) -> None:  # Quiet test output.
                pass

        return Handler
