"""Run the simulated business register on a real loopback port, in a background thread."""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

from werkzeug.serving import make_server

API_PATH = "/enhetsregisteret/api"


@contextlib.contextmanager
def running_wsgi(app: Callable, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve any WSGI app on a free port; yields ``http://host:port``."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="register", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def running_register(config: dict | None = None) -> Iterator[str]:
    """The simulated register; yields its API base URL (the value of ``REGISTER_URL``)."""
    from simulators.register.app import create_register_app

    with running_wsgi(create_register_app(dict(config or {}, ENV="testing"))) as base:
        yield base + API_PATH


def text_app(body: bytes, status: str = "200 OK", content_type: str = "application/json"):
    def app(environ, start_response):
        start_response(status, [("Content-Type", content_type)])
        return [body]

    return app


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/enhetsregisteret/api"
