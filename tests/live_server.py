"""A real gunicorn serving the app on a free loopback port, for race tests and the benchmark."""

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command():
    """Run gunicorn from this interpreter when it can, else from the project's venv."""
    if importlib.util.find_spec("gunicorn") is not None:
        return [sys.executable, "-m", "gunicorn"]
    return [str(ROOT / ".venv" / "bin" / "gunicorn")]


class LiveServer:
    """`gunicorn -k gthread wsgi:app` as a subprocess (or another worker class: sync, gevent);
    use as a context manager."""

    def __init__(
        self, database_url, workers=4, threads=8, config="testing", env=None, worker_class="gthread"
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.workers, self.threads, self.config = workers, threads, config
        self.worker_class = worker_class
        self.extra_env = env or {}
        self.process = None
        self._log = None

    def command(self):
        return [
            *gunicorn_command(),
            "-w",
            str(self.workers),
            "-k",
            self.worker_class,
            *(["--threads", str(self.threads)] if self.worker_class == "gthread" else []),
            "-b",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            "--timeout",
            "60",
            "wsgi:app",
        ]

    def environment(self):
        env = dict(
            os.environ,
            PARKAPP_CONFIG=self.config,
            DATABASE_URL=self.database_url,
            RATELIMIT_ENABLED="false",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout=60):
        """Start gunicorn and wait until /healthz answers 200."""
        handle, name = tempfile.mkstemp(prefix="parkapp-gunicorn-", suffix=".log")
        os.close(handle)
        self._log = Path(name)
        with self._log.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            if self._healthy():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s:\n{self.log()}")

    def _healthy(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        """Stop gunicorn gracefully, and kill it if it does not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self, last_chars=4000):
        """The tail of gunicorn's output (errors from the workers end up here)."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(errors="replace")[-last_chars:]

    def close(self):
        self.stop()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
