"""Staged rows built in a second process, one batch ahead of the batch being written.

Staging is Python-bound (parsing JSON lines, building tuples) and so is the driver's
insert: with two CPUs a child process builds batch N+1 while this one inserts batch N.
What commits, and when, is unchanged: the caller writes each batch with its line count in
one transaction, in order. Where no child can start (an unpicklable parser, no processes
allowed) the batches are built in this process, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from plugin.backfill.staging import Staged, Stager

Parse = Callable[[Iterable[Any], str], Iterator[tuple[int, Any]]]  # HistorySource.rows
Chunk = tuple[int, list[Any]]  # (number of its first line, the lines)
STOP_WAIT = 5.0  # seconds a child gets to stop before it is killed
READY, STAGED, FAILED = "ready", "staged", "failed"

log = logging.getLogger(__name__)


def build(parse: Parse, stager: Stager, resource: str, first: int, lines: list[Any]) -> Staged:
    """One batch's staged rows; line numbers count from `first`."""
    return stager.build((first + offset, row) for offset, row in parse(lines, resource))


class Builder:
    """Builds the batches of one import step, in a child process from the second batch
    on. Use it as a context manager: leaving it stops the child, whatever happened."""

    def __init__(self, parse: Parse, stager: Stager) -> None:
        self.parse, self.stager = parse, stager
        self._child: subprocess.Popen[bytes] | None = None
        self._up = self._tried = False

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def batches(self, resource: str, chunks: Iterable[Chunk]) -> Iterator[tuple[int, Staged]]:
        """(lines in the batch, its staged rows) per chunk, in order. While the caller
        writes a batch, the child builds the next one."""
        pending: int | None = None  # lines of the batch the child is building
        for index, (first, lines) in enumerate(chunks):
            if index == 1:
                self._start()  # more than one batch: worth a process
            if pending is not None:
                staged = self._receive()
                self._send(resource, first, lines)  # the child is idle: it reads at once
                yield pending, staged
                pending = len(lines)
            elif self._ready():
                self._send(resource, first, lines)
                pending = len(lines)
            else:  # one batch, or the child still starting
                yield len(lines), build(self.parse, self.stager, resource, first, lines)
        if pending is not None:
            yield pending, self._receive()

    def close(self) -> None:
        """Stop the child (its input closed, then killed if it lingers) and reap it."""
        child, self._child, self._up = self._child, None, False
        if child is None:
            return
        assert child.stdin is not None and child.stdout is not None
        with contextlib.suppress(OSError):  # gone already
            child.stdin.close()  # the child reads the end of its input and exits
        child.stdout.close()  # a batch it is still sending: its write fails, it exits
        try:
            child.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    # --- talking to the child -------------------------------------------------------------

    def _start(self) -> None:
        if self._tried:
            return
        self._tried = True
        try:
            setup = pickle.dumps((self.parse, self.stager))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.info("backfill.builder_in_process reason=%s", type(exc).__name__)
            return
        # the child imports this code from where this process did
        path = os.pathsep.join(p or os.getcwd() for p in sys.path)
        command = [sys.executable, "-m", "plugin.backfill.builder"]
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as exc:
            log.warning("backfill.builder_in_process reason=%s", type(exc).__name__)
            return
        self._child = child
        try:
            _write(child.stdin, setup)
        except OSError:
            self.close()

    def _ready(self) -> bool:
        """Whether the child is up (it says so once, when it has imported what it needs);
        a child that died starting is given up, and batches are built here."""
        if self._up or self._child is None:
            return self._up
        assert self._child.stdout is not None
        if select.select([self._child.stdout], [], [], 0)[0]:
            try:
                self._up = self._receive() == READY
            except RuntimeError:
                log.warning("backfill.builder_in_process reason=child_exited")
                self.close()
        return self._up

    def _send(self, resource: str, first: int, lines: list[Any]) -> None:
        assert self._child is not None
        _write(self._child.stdin, pickle.dumps((resource, first, lines), protocol=5))

    def _receive(self) -> Any:
        assert self._child is not None and self._child.stdout is not None
        try:
            kind, value = pickle.load(self._child.stdout)
        except EOFError:
            code = self._child.poll()
            raise RuntimeError(f"the staging child exited ({code})") from None
        if kind == FAILED:
            raise value
        return value


def _write(stream: IO[bytes] | None, data: bytes) -> None:
    assert stream is not None
    stream.write(data)
    stream.flush()


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The child: build each batch it reads until its input ends (the parent closed it,
    or died: a killed parent leaves no child behind)."""
    parse, stager = pickle.load(source)
    _write(sink, pickle.dumps((READY, READY)))
    while True:
        try:
            resource, first, lines = pickle.load(source)
        except EOFError:
            return
        answer: tuple[str, Any]
        try:
            answer = (STAGED, build(parse, stager, resource, first, lines))
        except Exception as exc:
            answer = (FAILED, _portable(exc))
        _write(sink, pickle.dumps(answer, protocol=5))


def _portable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    try:
        serve(sys.stdin.buffer, sink)
    except (BrokenPipeError, EOFError):
        os._exit(0)  # the parent is gone, or stopped it: nothing left to say


if __name__ == "__main__":
    main()
