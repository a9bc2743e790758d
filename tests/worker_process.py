"""A real Celery worker (prefork, one child) in a subprocess, for the worker tests.

It runs `celery -A celery_worker.celery worker` from this interpreter with the test
configuration, the same DATABASE_URL and REDIS_URL as the tests, and the given extra
environment (mail server, EXPORT_ROW_DELAY_MS). Its log goes to a temporary file.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    """Start, inspect and stop one worker process tree."""

    def __init__(self, name, env=None, beat=False):
        self.name = name
        self.beat = beat
        self.env = {**os.environ, "PARKAPP_CONFIG": "testing", **(env or {})}
        handle, self.log_path = tempfile.mkstemp(prefix=f"celery-{name}-", suffix=".log")
        os.close(handle)
        self.process = None

    def start(self, timeout=30):
        """Launch the worker and wait until it consumes from the broker."""
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_worker.celery",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--loglevel",
            "info",
            "--hostname",
            f"{self.name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.beat:  # embedded beat, its schedule file next to the log
            command += ["--beat", "--schedule", f"{self.log_path}.beat"]
        # Its own session, so stopping it can take the whole process group down.
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_log("ready.", timeout)
        return self

    def output(self):
        """Everything the worker logged so far."""
        return Path(self.log_path).read_text(errors="replace")

    def wait_for_log(self, text, timeout):
        """Wait until `text` appears in the log; fail with the log if the worker dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.output()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name}: no {text!r} in {timeout} s:\n{self.output()}")

    def children(self):
        """Pids of the pool's child processes (the ones that run tasks)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill_child(self):
        """SIGKILL the pool child in the middle of whatever it runs; return its pid."""
        (child,) = self.children()
        os.kill(child, signal.SIGKILL)
        return child

    def kill(self):
        """SIGKILL the whole worker at once, as a lost machine or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)

    def stop(self, timeout=15):
        """Warm shutdown (SIGTERM), then SIGKILL the group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def close(self):
        """Stop the worker (whatever its state) and remove its log."""
        try:
            self.stop()
        finally:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            os.unlink(self.log_path)
            for suffix in ("", ".db", ".dat", ".dir", ".bak"):
                Path(f"{self.log_path}.beat{suffix}").unlink(missing_ok=True)
