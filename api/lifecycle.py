"""Shutdown notice for long-lived responses: SIGTERM/SIGINT set `app.state.stopping`.

uvicorn answers SIGTERM by waiting for open connections to close, and a live feed (SSE) never
closes by itself, so without this a server with a subscriber would not stop. In the main thread
the app chains its own handler after uvicorn's (installed before the lifespan starts), and every
stream watches the event and ends at once. In other threads (tests serving an app in a thread)
there are no signal handlers; `stopping` is then set when the lifespan ends.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def watch_signals(stopping: asyncio.Event) -> Callable[[], None]:
    """Set `stopping` on SIGTERM/SIGINT (after the handler already installed); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def handler(sig: int, frame) -> None:
        loop.call_soon_threadsafe(stopping.set)
        before = previous[sig]
        if callable(before):
            before(sig, frame)
        elif before == signal.SIG_DFL and sig == signal.SIGINT:
            raise KeyboardInterrupt

    for sig in SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before)

    return restore
