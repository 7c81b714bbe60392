"""Run an adapter in a worker process, so that a crash, a hang or an out-of-memory costs
one cell and never the run.

:class:`IsolatedAdapter` is the proxy that :func:`conformance.adapters.registry.load_adapter`
returns for an adapter class with ``isolated = True``. It looks like the real adapter
(same ``name``, ``profile``, ``dtypes``, ``devices``, ``apis``), but every call goes to a
worker process (``python -m conformance.adapters.worker``, talking over a socket pair
with :class:`multiprocessing.connection.Connection` framing) where the real adapter is
instantiated, and imports its framework, once. A fresh interpreter rather than
``fork``: a forked TensorFlow or JAX is unsafe, and unlike multiprocessing's ``spawn``
it does not re-run the caller's ``__main__`` (a script without an ``if __name__ ==
"__main__"`` guard works):

* ``run(case, dtype, device)`` sends the case (pickled: cases are frozen dataclasses of
  plain data) and returns the worker's outputs (numpy arrays, lists, dicts) or re-raises
  the :class:`~conformance.adapters.base.PortableError` the adapter raised there. Any
  other exception from adapter code is mapped with
  :func:`conformance.adapters.errors.to_portable`, keeping its type and message.
* A worker that dies (segfault, abort, ``os._exit``), does not answer within the
  per-case ``timeout``, or runs out of memory (``MemoryError`` in the worker, or a
  ``SIGKILL``/exit 137 as the kernel's OOM killer delivers it) makes ``run`` raise
  :class:`~conformance.adapters.base.Crash` with the cause, for example
  ``worker died with SIGSEGV while running scce-doc-002-function [float32, cpu]`` or
  ``timed out after 60 s while running ...``. The worker is killed if still alive, and
  the next call starts a fresh one: the run goes on.
* ``versions()``, ``skip_reason()`` and ``device_unavailable()`` are answered by the
  worker too: whether a GPU is visible can only be known where the framework is
  imported. Answers that cannot change (versions, device availability) are cached.

The worker's standard output and error go to a log file (its tail is quoted in a crash
cause: ``faulthandler`` writes the Python stack of a fatal signal there), so framework
chatter never mixes with the protocol or the terminal. No memory limit is set with
``RLIMIT_AS``: TensorFlow and JAX reserve large virtual ranges and fail under one.
To debug an adapter, instantiate its class directly: it runs in-process then.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from conformance.adapters.base import Adapter, Crash, PortableError
from conformance.case import Case

#: Per-case limit in seconds when none is given.
DEFAULT_TIMEOUT = 120.0
#: Limit for starting a worker: spawning Python, importing the adapter's module and
#: instantiating it (which may import TensorFlow, JAX or Torch: seconds to a minute).
DEFAULT_STARTUP_TIMEOUT = 300.0
#: Extra seconds allowed for the first request a fresh worker answers (a framework's
#: first call compiles kernels, traces functions, loads plug-ins).
FIRST_CALL_GRACE = 60.0
#: How much of the worker's log a crash cause quotes.
LOG_TAIL_CHARS = 600


# =========================================================================== worker side
def _resolve(target_spec: str) -> type[Adapter]:
    from conformance.adapters.registry import resolve_class

    return resolve_class(target_spec)


def _portable(exc: BaseException) -> PortableError:
    from conformance.adapters.errors import to_portable

    return to_portable(exc)


def _serve(conn: Any) -> None:
    """The worker's main loop: receive the adapter to serve, instantiate it, then answer
    requests until ``close`` or until the parent goes away."""
    faulthandler.enable(all_threads=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        _, cls_blob, target_spec = conn.recv()
        cls = pickle.loads(cls_blob) if cls_blob is not None else _resolve(target_spec)
        adapter = cls()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent verbatim
        conn.send(("init_error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        conn.close()
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        op = request[0]
        if op == "close":
            try:
                adapter.close()
            finally:
                conn.close()
            return
        try:
            if op == "run":
                _, case, dtype, device = request
                reply: tuple[Any, ...] = ("ok", adapter.run(case, dtype, device))
            elif op == "skip_reason":
                _, case, dtype, device = request
                reply = ("ok", adapter.skip_reason(case, dtype, device))
            elif op == "device_unavailable":
                reply = ("ok", adapter.device_unavailable(request[1]))
            elif op == "versions":
                reply = ("ok", dict(adapter.versions()))
            elif op == "ping":
                reply = ("ok", os.getpid())
            else:
                reply = ("internal", f"unknown request {op!r}")
        except PortableError as exc:
            reply = ("portable", exc.category, exc.message, exc.exc_type)
        except MemoryError:
            reply = ("crash", "out of memory (MemoryError in the worker)")
        except Exception as exc:  # noqa: BLE001 - adapter code raised something non-portable
            p = _portable(exc)
            reply = ("portable", p.category, p.message, p.exc_type)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("internal", f"the adapter returned something that cannot be sent back: {exc}"))
        except MemoryError:
            conn.send(("crash", "out of memory (MemoryError while sending the result)"))
        if reply[0] == "crash":
            conn.close()
            os._exit(1)  # state after a MemoryError is not trustworthy: start afresh


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process (started by :class:`IsolatedAdapter`)."""
    parser = argparse.ArgumentParser(prog="python -m conformance.adapters.worker")
    parser.add_argument("--fd", type=int, required=True, help="inherited socket to the parent")
    args = parser.parse_args(argv)
    _serve(Connection(args.fd))
    return 0


# =========================================================================== parent side
class _Process:
    """The few ``multiprocessing.Process`` verbs the proxy needs, over ``subprocess``."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        if self.is_alive():
            self.popen.terminate()

    def kill(self) -> None:
        if self.is_alive():
            self.popen.kill()

    def close(self) -> None:
        pass


def _child_env() -> dict[str, str]:
    """The parent's environment, with its import path, so that the worker imports the
    same ``conformance`` and finds plug-ins given as ``module:Class`` (the current
    directory included)."""
    env = dict(os.environ)
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths + ([old] if old else [])))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env



def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def describe_exit(exitcode: int | None) -> str:
    """A worker's exit status in words, with the likely cause."""
    if exitcode is None:
        return "worker is unresponsive"
    if exitcode < 0:
        name = _signal_name(-exitcode)
        if -exitcode == signal.SIGKILL:
            return f"worker was killed with {name} (out of memory? the kernel's OOM killer sends SIGKILL)"
        return f"worker died with {name}"
    if exitcode == 137:
        return "worker exited with status 137 (SIGKILL: out of memory?)"
    return f"worker exited with status {exitcode}"


def summarise_log(text: str) -> str:
    """The lines of a worker log that explain a death: faulthandler's ``Fatal Python
    error`` header with the innermost frame of the crashing thread, else the end of the
    last Python traceback, else the last lines."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    fatal = [i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")]
    if fatal:
        block = lines[fatal[-1]:]
        frames = [ln.strip() for ln in block if ln.strip().startswith("File ")]
        return " | ".join([block[0].strip()] + frames[:2])  # most recent call first
    tb = [i for i, ln in enumerate(lines) if ln.startswith("Traceback")]
    if tb:
        return " | ".join(ln.strip() for ln in lines[tb[-1]:][-3:])
    return " | ".join(ln.strip() for ln in lines[-3:])


def _case_label(case: Case, dtype: str, device: str) -> str:
    return f"{case.id} [{dtype}, {device}]"


class WorkerStartError(Exception):
    """The adapter could not be instantiated in the worker (import or constructor error)."""


class IsolatedAdapter(Adapter):
    """Proxy running the adapter class ``cls`` (loadable as ``target_spec``) in a worker.

    ``timeout`` is the per-case limit in seconds (default :data:`DEFAULT_TIMEOUT`);
    ``startup_timeout`` the limit for starting the worker and instantiating the adapter.
    The first request a fresh worker answers gets :data:`FIRST_CALL_GRACE` more seconds.
    """

    isolated = True

    def __init__(
        self,
        cls: type[Adapter],
        target_spec: str,
        timeout: float | None = None,
        *,
        startup_timeout: float | None = None,
        first_call_grace: float = FIRST_CALL_GRACE,
    ) -> None:
        self.cls = cls
        self.target_spec = target_spec
        self.timeout = float(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.startup_timeout = float(startup_timeout) if startup_timeout is not None else max(DEFAULT_STARTUP_TIMEOUT, self.timeout)
        self.first_call_grace = float(first_call_grace)
        # Mirror the real adapter's declarations (instance attributes shadow the ClassVars).
        self.name = cls.name  # type: ignore[misc]
        self.profile = cls.profile  # type: ignore[misc]
        self.dtypes = tuple(cls.dtypes)  # type: ignore[misc]
        self.devices = tuple(cls.devices)  # type: ignore[misc]
        self.apis = tuple(cls.apis)  # type: ignore[misc]
        self.description = cls.description  # type: ignore[misc]
        self._proc: Any = None
        self._conn: Any = None
        self._log_path: str | None = None
        self._fresh = False
        self._init_error: str | None = None
        self._versions: dict[str, str] | None = None
        self._device_cache: dict[str, str | None] = {}
        #: How many workers were started (1 + restarts), for reports and tests.
        self.starts = 0
        #: The causes of the crashes seen so far.
        self.crashes: list[str] = []

    def __repr__(self) -> str:
        return f"IsolatedAdapter({self.cls.__name__}, {self.target_spec!r}, timeout={self.timeout:g})"

    # ------------------------------------------------------------------ lifecycle
    @property
    def pid(self) -> int | None:
        """The worker's process id (None when no worker runs)."""
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def start(self) -> None:
        """Start the worker now (otherwise the first call does). Raises
        :class:`WorkerStartError` when the adapter cannot be instantiated there, and
        :class:`Crash` when the worker dies or hangs while starting."""
        if self._proc is not None and self._proc.is_alive():
            return
        if self._init_error is not None:
            raise WorkerStartError(self._init_error)
        self._discard()
        self._remove_log()  # the previous worker's log: its crash was already reported
        fd, self._log_path = tempfile.mkstemp(prefix=f"conformance-{self.name}-", suffix=".log")
        os.close(fd)
        parent_sock, child_sock = socket.socketpair()
        child_fd = child_sock.fileno()
        with open(self._log_path, "ab") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "conformance.adapters.worker", "--fd", str(child_fd)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(child_fd,),
                env=_child_env(),
                close_fds=True,
            )
        child_sock.close()
        conn = Connection(parent_sock.detach())
        self._proc, self._conn = _Process(popen), conn
        self.starts += 1
        # Send the class itself when it pickles by reference (an importable module-level
        # class); otherwise the worker resolves target_spec.
        try:
            cls_blob: bytes | None = pickle.dumps(self.cls)
        except Exception:  # noqa: BLE001
            cls_blob = None
        try:
            conn.send(("init", cls_blob, self.target_spec))
        except OSError:
            pass  # the worker died at once: _receive reports how
        reply = self._receive(self.startup_timeout, "starting the worker")
        if reply[0] == "init_error":
            self._init_error = f"{self.target_spec}: {reply[1]}"
            self._discard()
            raise WorkerStartError(f"{self._init_error}\n{reply[2]}")
        if reply[0] != "ready":
            self._discard()
            raise Crash(f"worker sent {reply[0]!r} instead of 'ready'")
        self._fresh = True

    def close(self) -> None:
        """Stop the worker (politely, then by force) and remove its log."""
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            try:
                self._conn.send(("close",))
                self._proc.join(5)
            except (OSError, EOFError, BrokenPipeError):
                pass
        self._discard()
        self._remove_log()

    def _remove_log(self) -> None:
        if self._log_path and os.path.exists(self._log_path):
            try:
                os.unlink(self._log_path)
            except OSError:
                pass
        self._log_path = None

    def __del__(self) -> None:  # best effort; close() is the contract
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> IsolatedAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _discard(self) -> None:
        """Kill the worker if alive and forget it (the log stays for the crash cause)."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if proc is not None:
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)
            else:
                proc.join(0.1)
            try:
                proc.close()
            except (ValueError, AttributeError):
                pass

    # ------------------------------------------------------------------ protocol
    def _log_tail(self) -> str:
        if not self._log_path:
            return ""
        try:
            with open(self._log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 8192))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return summarise_log(text)[-LOG_TAIL_CHARS:]

    def _receive(self, limit: float, doing: str) -> tuple[Any, ...]:
        """The worker's next message within ``limit`` seconds, or Crash."""
        proc, conn = self._proc, self._conn
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._discard()
                cause = f"timed out after {limit:g} s while {doing} (worker killed)"
                self.crashes.append(cause)
                raise Crash(cause)
            try:
                if conn.poll(min(remaining, 0.5)):
                    return conn.recv()
            except (EOFError, OSError, ConnectionError):
                pass  # the worker died: fall through to the exit status
            except MemoryError:
                self._discard()
                cause = f"out of memory (MemoryError receiving the result) while {doing}"
                self.crashes.append(cause)
                raise Crash(cause) from None
            if not proc.is_alive():
                proc.join(1)
                code = proc.exitcode
                cause = f"{describe_exit(code)} while {doing}"
                tail = self._log_tail()
                if tail:
                    cause += f"; worker log: {tail}"
                self._discard()
                self.crashes.append(cause)
                raise Crash(cause)

    def _call(self, request: tuple[Any, ...], doing: str) -> Any:
        try:
            self.start()
        except WorkerStartError as exc:
            raise Crash(f"adapter could not start in the worker: {str(exc).splitlines()[0]}") from exc
        limit = self.timeout + (self.first_call_grace if self._fresh else 0.0)
        try:
            self._conn.send(request)
        except (OSError, BrokenPipeError, EOFError):
            pass  # _receive reports the death with the exit status
        reply = self._receive(limit, doing)
        self._fresh = False
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "portable":
            raise PortableError(reply[1], reply[2], exc_type=reply[3])
        if kind == "crash":
            self._discard()
            cause = f"{reply[1]} while {doing}"
            self.crashes.append(cause)
            raise Crash(cause)
        raise RuntimeError(f"worker protocol error: {reply[1] if len(reply) > 1 else reply}")

    # ------------------------------------------------------------------ the Adapter API
    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        return self._call(("run", case, dtype, device), f"running {_case_label(case, dtype, device)}")

    def skip_reason(self, case: Case, dtype: str, device: str) -> str | None:
        # The cheap standard checks need no worker; the rest are the adapter's own.
        if dtype not in self.dtypes:
            return f"{self.name} does not support dtype {dtype}"
        if case.api not in self.apis:
            return f"{self.name} does not implement the {case.api} API"
        if device not in self.devices:
            return f"{self.name} does not run on {device}"
        unavailable = self.device_unavailable(device)
        if unavailable:
            return unavailable
        try:
            return self._call(("skip_reason", case, dtype, device), f"checking {_case_label(case, dtype, device)}")
        except (Crash, PortableError):
            return None  # let run() report the crash on the cell itself

    def device_unavailable(self, device: str) -> str | None:
        if device not in self.devices:
            return f"{self.name} does not run on {device}"
        if device not in self._device_cache:
            try:
                self._device_cache[device] = self._call(("device_unavailable", device), f"probing device {device}")
            except Crash as exc:
                return f"{self.name}: worker crashed while probing {device}: {exc.cause}"
            except PortableError as exc:
                self._device_cache[device] = f"{self.name}: probing {device} raised {exc.exc_type}: {exc.message}"
        return self._device_cache[device]

    def versions(self) -> dict[str, str]:
        if self._versions is None:
            try:
                self._versions = dict(self._call(("versions",), "reading versions"))
            except (Crash, PortableError) as exc:
                return {"worker_error": str(exc)}
        return dict(self._versions)

    def ping(self) -> int:
        """The worker's pid (starting it if needed): a cheap liveness check."""
        return int(self._call(("ping",), "answering a ping"))


if __name__ == "__main__":
    sys.exit(main())
