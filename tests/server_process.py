"""A real API server process for the tests: started on a free port, waited for, stopped with its log.

One helper for every suite that needs ``backstory serve`` (or a gunicorn command) as a separate
process: it runs in its own process group (so a stop or a kill reaches its workers and its
projections follower), its whole output goes to a log file, and ``stop()`` returns that log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any BACKSTORY_ setting, the project on the path, UTC."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TZ"] = "UTC"
    if home is not None:
        env["BACKSTORY_HOME"] = str(home)
    env.update(extra or {})
    return env


def serve_command(db_url: str, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "cli", "--db", db_url, "serve", "--port", str(port), "--workers", str(workers)]


def http(method: str, url: str, body=None, token: str | None = None, raw: bytes | None = None,
         content_type: str = "application/json", timeout: float = 60) -> tuple[int, dict, object]:
    """One request: (status, headers, decoded JSON body or None), error statuses included."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = resp.read()
            return resp.status, dict(resp.headers), json.loads(payload) if payload else None
    except urllib.error.HTTPError as e:
        payload = e.read()
        return e.code, dict(e.headers), json.loads(payload) if payload else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


class ServerProcess:
    """``command`` serving on ``port`` in its own process group; ready once ``ready`` answers 200."""

    def __init__(self, command: list[str], port: int, env: dict[str, str], log: Path,
                 ready: str = "/healthz", timeout: float = 90):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ready(ready, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, ready: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}): {self.log_text()}")
            if _answers(self.url + ready):
                return
            time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log_text()}")

    def log_text(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """Stop the whole process group (SIGTERM, then SIGKILL after 30 s); return the log."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if not self._log_file.closed:
            self._log_file.close()
        return self.log.read_text(errors="replace")
