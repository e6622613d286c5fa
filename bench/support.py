"""What every benchmark needs: a scratch database, and the process's peak memory.

Benchmarks run as scripts (`.venv/bin/python bench/recap.py`), so this folder is on `sys.path`
and they import this module as `support`.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import create_engine
from storage.store import Store


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@asynccontextmanager
async def fresh_database(
    url: str | None, folder: Path, name: str = "bench", store_class: type[Store] = Store
) -> AsyncIterator[Store]:
    """An empty database, removed again afterwards: a new SQLite file `<name>.db` in `folder`
    (no `url`), or a new schema on the PostgreSQL server of `url`, used through search_path."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        store = store_class(create_engine(url or f"sqlite+aiosqlite:///{folder / name}.db"))
        try:
            yield store
        finally:
            await store.close()
        return
    schema = f"{name}_{os.getpid()}"
    admin = create_engine(url)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        store = store_class(
            create_engine(url, connect_args={"server_settings": {"search_path": schema}})
        )
        try:
            yield store
        finally:
            await store.close()
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()
