"""Entry point: `python -m vlmhb_server --engine E --model M --served-model-name N --port P [...]`.

The port is bound first and answers 503 on /health while the model loads; /health turns 200 once it
is loaded. A model that fails to load ends the process with status 1 (its traceback on stderr); a bad
command line ends it with status 2. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from .engines import EngineArgError, engine_names, load_engine_class

log = logging.getLogger("vlmhb_server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m vlmhb_server", description="OpenAI-compatible server for one model or OCR engine."
    )
    parser.add_argument("--engine", required=True, choices=engine_names())
    parser.add_argument(
        "--model",
        default=None,
        help="model path or id; OCR engines only report it (default: the engine's name)",
    )
    parser.add_argument("--served-model-name", help="the name clients send as `model` (default: --model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an engine option, repeatable (see each engine module's docstring)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    engine_args = {}
    for item in args.engine_arg:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            parser.error(f"--engine-arg must be KEY=VALUE, got {item!r}")
        engine_args[key.strip()] = value
    args.engine_args = engine_args
    args.model = args.model or args.engine
    args.served_model_name = args.served_model_name or args.model
    return args


async def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import QuietAccessLogger, ServerState, create_app
    from .memory import MemoryMonitor

    engine = load_engine_class(args.engine)(args.model, args.engine_args)
    concurrency = engine.max_concurrency if engine.thread_safe else 1
    monitor = MemoryMonitor()
    monitor.start()
    state = ServerState(
        engine=engine,
        engine_name=args.engine,
        model=args.model,
        served_model_name=args.served_model_name,
        pool=ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="engine"),
        decode_pool=ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode"),
        slots=asyncio.Semaphore(concurrency),
        monitor=monitor,
    )
    runner = web.AppRunner(create_app(state), shutdown_timeout=5.0, access_log_class=QuietAccessLogger)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as e:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, e)
        await runner.cleanup()
        return 1
    log.info(
        "listening on http://%s:%s (engine %s, model %s); loading",
        args.host,
        args.port,
        args.engine,
        args.model,
    )

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    loading = asyncio.ensure_future(loop.run_in_executor(state.pool, engine.load))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([loading, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not loading.done():
        log.info("stopped while loading")
        await runner.cleanup()
        _exit_now(0)  # the loading thread cannot be interrupted
    if loading.exception() is not None:
        e = loading.exception()
        log.error(
            "loading %s with engine %s failed:\n%s",
            args.model,
            args.engine,
            "".join(traceback.format_exception(e)),
        )
        if isinstance(e, ImportError):
            needs = " ".join(getattr(engine, "requires", ())) or f"the {args.engine} engine's package"
            log.error("the env needs: pip install %s (add it to the model row's `packages`)", needs)
        await runner.cleanup()
        _exit_now(1)
    state.load_seconds = round(time.perf_counter() - started, 3)
    state.ready = True
    log.info("ready: loaded in %.2f s", state.load_seconds)

    await stopping
    log.info("stopping")
    await runner.cleanup()
    monitor.stop()
    _exit_now(0)  # an engine call still running in a worker thread must not hold the exit
    return 0


def _exit_now(code: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(serve(args))
    except EngineArgError as e:
        log.error("%s", e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
