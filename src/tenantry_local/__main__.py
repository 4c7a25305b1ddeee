"""`python -m tenantry_local serve [--port 4566]`: serve the whole application until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from tenantry_local.runtime import DEFAULT_TIME_SCALE, LocalRuntime, ready_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenantry_local")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve template.yaml on the local endpoint")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 4566))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--project-dir", type=Path, default=Path.cwd())
    serve.add_argument(
        "--time-scale",
        type=float,
        default=float(os.environ.get("TIME_SCALE") or DEFAULT_TIME_SCALE),
        help="factor applied to Wait states and Retry intervals (1 = real time)",
    )
    serve.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=(os.environ.get("PARAMS") or "").split(),
        metavar="KEY=VALUE",
        help="template parameters, as sam deploy takes them",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "WARNING"), format="%(asctime)s %(name)s %(message)s")

    parameters = dict(item.split("=", 1) for item in args.parameter_overrides)
    stop_signal = StopSignal()  # before anything starts: a signal during start-up stops the runtime once it is up
    runtime = LocalRuntime(
        args.project_dir, port=args.port, host=args.host, time_scale=args.time_scale, parameters=parameters
    ).start()
    print(ready_line(runtime), flush=True)
    received = stop_signal.wait()
    print(f"{received.name}: stopping", flush=True)
    runtime.stop()
    return 0


class StopSignal:
    """SIGINT or SIGTERM, received without doing work inside a signal handler.

    The handlers do nothing: the signal's number reaches a socket (signal.set_wakeup_fd) that the main
    thread reads. A handler that did work (setting an Event from inside a wait on that Event) could be
    re-entered by a second signal and hang; here later signals are ignored once the first has arrived.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in self.SIGNALS:
            signal.signal(sig, lambda *_: None)

    def wait(self) -> signal.Signals:
        received = signal.Signals(self._reader.recv(1)[0])
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        signal.set_wakeup_fd(-1)
        return received


if __name__ == "__main__":
    sys.exit(main())
