"""`python -m tenantry_local serve [--port 4566]`: serve the whole application until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
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
    runtime = LocalRuntime(
        args.project_dir, port=args.port, host=args.host, time_scale=args.time_scale, parameters=parameters
    ).start()
    print(ready_line(runtime), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
