"""What the verb modules of `sapa` share: exit codes, the shape of a handler, the store."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.texts.i18n import Translator
    from storage.store import Store

    # What each verb module's `add_parsers` is handed, to add its verbs to.
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    # A verb, as `set_defaults(handler=...)` names it: `main` runs the coroutine if it is one.
    Handler: TypeAlias = Callable[
        [Settings, Translator, argparse.Namespace], int | Coroutine[Any, Any, int]
    ]

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG = 0, 1, 2


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The database of SAPA_DATABASE_URL, closed when the verb is done; a database that cannot be
    opened or is not migrated raises, and `main` says so in one sentence."""
    from storage.store import Store

    store = await Store.open(settings.database_url)
    try:
        yield store
    finally:
        await store.close()
