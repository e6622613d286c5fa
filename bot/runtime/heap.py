"""The garbage collector and the event loop: a full collection stops every chat while it runs.

CPython's collector looks at every container object of the process in a full (generation 2)
collection: with the registry, the catalogs, PTB and SQLAlchemy loaded that took up to 240 ms
during a burst of households (bench/updates.py, "full gc"), and every reply waited. What is
loaded at start lives as long as the process, so once the bot has started it is moved out of
the collector's sight (`gc.freeze`); later collections look only at what came after.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap_frozen objects=%d", frozen)
    return frozen
