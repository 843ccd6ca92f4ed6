"""The gunicorn worker of ``backstory serve``: threaded, and not held by clients that send nothing or send slowly.

gunicorn's ``sync`` worker serves one connection at a time, so one client that
connected and sent nothing blocked every other request until the worker's
timeout (120 s). gunicorn's ``gthread`` worker serves ``threads`` requests at
once and keeps idle kept-alive connections in a poller, but a new connection
still holds a thread for up to 5 s before it is moved there, and a thread
reading a request has no timeout at all: a client trickling its headers or
body holds that thread for as long as it likes.

``ThreadWorker`` is gthread with three bounds:

- a new connection holds a thread only while its first bytes are already
  arriving (``FIRST_BYTES_WAIT``); otherwise it waits in the poller, without a
  thread, and is closed after ``keepalive`` seconds with no request;
- no read waits more than ``READ_TIMEOUT`` for the next bytes of a request;
- a request (its line, headers and body) must have arrived within
  ``REQUEST_DEADLINE`` of the thread starting to read it (a 1 MiB push needs
  about 18 KB/s).

A client over a bound loses its connection (one warning line in the log, see
``api.serverlog``). Each slow client still holds one thread up to those
bounds, so ``threads`` of them slow a worker down: on the internet a reverse
proxy that buffers whole requests before passing them on (nginx does by
default) stands in front (README, Reliability). With the gunicorn command
line: ``gunicorn -c python:api.gunicorn_conf 'api.wsgi:app()'`` (or ``-k api.worker.ThreadWorker``).
"""

from __future__ import annotations

import os
import socket
import time

import selectors
from functools import partial

from gunicorn.workers.gthread import _DEFER
from gunicorn.workers.gthread import ThreadWorker as _GThread

#: Seconds a new connection may hold a thread waiting for its first bytes before it waits in the poller.
FIRST_BYTES_WAIT = 0.05
#: Seconds a read of a request may wait for its next bytes (``BACKSTORY_READ_TIMEOUT``).
READ_TIMEOUT = 15.0
#: Seconds from the start of reading a request until all of it must have arrived (``BACKSTORY_REQUEST_DEADLINE``).
REQUEST_DEADLINE = 60.0
#: Seconds a closed connection's unread bytes are drained before it is closed for good (RFC 9112 9.6).
LINGER = 2.0


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment (``BACKSTORY_READ_TIMEOUT``...), else ``default``."""
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


class _DeadlineSocket(socket.socket):
    """A connection whose reads time out: after ``read_timeout`` without bytes, or at the request's deadline.

    gthread puts a connection in blocking mode (``setblocking(True)``) each
    time a thread starts to read a request from it: here that starts the
    request's deadline and sets the read timeout instead.
    """

    __slots__ = ("deadline", "read_timeout", "allowed")

    @classmethod
    def adopt(cls, sock: socket.socket, read_timeout: float, allowed: float) -> _DeadlineSocket:
        timed = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        timed.read_timeout, timed.allowed = read_timeout, allowed
        timed.deadline = time.monotonic() + allowed
        return timed

    def setblocking(self, flag: bool) -> None:
        if not flag:
            super().setblocking(False)
            return
        self.deadline = time.monotonic() + self.allowed
        self.settimeout(self.read_timeout)

    def recv(self, size: int, flags: int = 0) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        current = self.gettimeout()  # gunicorn's own shorter timeouts (draining a body) stay
        self.settimeout(min(self.read_timeout, remaining, current if current else self.read_timeout))
        return super().recv(size, flags)


class ThreadWorker(_GThread):
    """gthread with a short wait for a new connection's first bytes and bounded reads (see the module doc)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lingering: dict[_DeadlineSocket, float] = {}
        self.read_timeout = _seconds("BACKSTORY_READ_TIMEOUT", READ_TIMEOUT)
        self.request_deadline = _seconds("BACKSTORY_REQUEST_DEADLINE", REQUEST_DEADLINE)

    def enqueue_req(self, conn):
        if not isinstance(conn.sock, _DeadlineSocket):  # on the main thread, before any worker thread has it
            conn.sock = _DeadlineSocket.adopt(conn.sock, self.read_timeout, self.request_deadline)
            conn.close = partial(self._close, conn)
        super().enqueue_req(conn)

    def _close(self, conn, graceful: bool = False) -> None:
        """Close a connection; a graceful close lingers in the poller, not in the main loop.

        gthread closes a finished connection gracefully on its main thread,
        reading until the client closes its side for up to 2 s: meanwhile it
        accepted nothing and answered no other connection's callback.
        """
        sock = conn.sock
        if not graceful:
            sock.close()
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._drain)
        except (OSError, ValueError, KeyError):
            sock.close()
            return
        self.lingering[sock] = time.monotonic() + LINGER

    def _drain(self, sock) -> None:
        try:
            if socket.socket.recv(sock, 65536):  # non-blocking, without the request deadline
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._stop_lingering(sock)

    def _stop_lingering(self, sock) -> None:
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        sock.close()

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for sock in [s for s, deadline in self.lingering.items() if deadline <= now]:
            self._stop_lingering(sock)

    def handle(self, conn):
        if not conn.initialized and not conn.data_ready and not conn.wait_for_data(FIRST_BYTES_WAIT):
            return _DEFER  # nothing sent yet: wait in the poller, without a thread
        return super().handle(conn)
