"""The temporary Prefect API a command starts when PREFECT_API_URL names none (flows/cli/lifecycle.py):
Prefect's own server app on its SQLite database, with one change for runs of many models side by side.

SQLite lets one connection write at a time. Prefect opens most write transactions DEFERRED: they read, then
ask for the write lock, and when another connection wrote meanwhile SQLite refuses at once ("database is
locked", without waiting its busy timeout). Prefect then answers 503 and its client waits 2 s, 4 s, 8 s...
before sending the request again. With dozens of subflows starting together, beside the API's own event
services writing in batches, those waits were most of a run: bench/bench_scale.py measured 100 models at
0.95 s a pair with almost no inference, the subflows starting one after another. Here every transaction
begins IMMEDIATE (as Prefect already does for its `with_for_update` ones): it takes the write lock first, so
a busy database makes it wait in SQLite's busy timeout (60 s), in order, instead of failing; the same run
takes 0.33 s a pair. PostgreSQL servers are not concerned (they lock rows).

    python -m uvicorn --factory flows.cli.temporary_api:create_app ...   (flows/cli/lifecycle.py starts it)
"""

from __future__ import annotations

from contextlib import asynccontextmanager


def create_app():
    """Prefect's API app as its temporary server builds it (the environment says ephemeral, UI off), with
    every SQLite transaction IMMEDIATE."""
    from prefect.server.api.server import create_app as prefect_app
    from prefect.server.database import configurations

    @asynccontextmanager
    async def begin_transaction(self, session, with_for_update: bool = False):
        token = configurations.SQLITE_BEGIN_MODE.set("IMMEDIATE")
        try:
            async with session.begin() as transaction:
                yield transaction
        finally:
            configurations.SQLITE_BEGIN_MODE.reset(token)

    configurations.AioSqliteConfiguration.begin_transaction = begin_transaction
    return prefect_app()
