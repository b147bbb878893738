"""Serve a viewer site on 127.0.0.1 for a browser, with the MIME types onnxruntime-web needs (``.mjs`` as
JavaScript, ``.wasm`` as WebAssembly); for local use, tests and screenshots. Torch-free."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["serve_site"]


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the module/wasm MIME types, without a log line per request."""

    extensions_map = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_site(site: str | os.PathLike[str]) -> Iterator[str]:
    """Serve the folder ``site`` on a free port of 127.0.0.1 while the block runs; yields its base URL
    (``http://127.0.0.1:PORT/``). The server is shut down and its socket closed on exit."""
    handler = functools.partial(_StaticHandler, directory=os.fspath(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
