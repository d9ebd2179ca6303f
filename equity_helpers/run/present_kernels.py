"""The dashboard server's kernels: one per open page, freed when the page has gone, never more than a cap.

Voila starts a kernel (about 190 MB) for every view of the dashboard. ``equity-workbook present`` gives Voila
:class:`PresentKernelManager` (``VoilaConfiguration.multi_kernel_manager_class``), jupyter_server's kernel
manager with three additions, configured on Voila's command line by
:func:`equity_helpers.run.present.kernel_options` (which holds the defaults):

* **a page that has gone frees its kernel**: when the last websocket of a kernel closes (the tab was closed,
  reloaded or navigated away; the browser quit), the kernel is shut down ``shutdown_delay`` seconds later
  unless a websocket has connected again meanwhile (the page's own reconnection after a network hiccup).
  Voila's page also asks for its kernel's shutdown on ``beforeunload``; this does not depend on it;
* **kernel culling as a backstop** (jupyter_server's own): a kernel with
  no websocket that has been idle ``cull_idle_timeout`` seconds is shut down, checked every ``cull_interval``
  seconds. A page whose kernel never connected (a request abandoned while the page was drawing, the
  command's own warm-up page) is freed this way; a page still open is never culled (``cull_connected`` off),
  however long a discussion sits on one chart;
* **a cap**: with ``max_kernels`` kernels running (or starting), a new page view is refused with HTTP 503 and
  a plain page saying the room is full, in the dashboard's language (``503.html`` of the ``equity`` Voila
  template), instead of a new kernel.

Voila's preheated kernels (``--preheat_kernel``, off in ``present``) keep working: Voila wraps this class,
its pool's kernels never connect a websocket before a page takes them, and Voila keeps them from the culler.
They count towards the cap.

Only the server imports this module (by name, from Voila's command line): it imports jupyter_server.
"""
from __future__ import annotations

import asyncio

from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from tornado.ioloop import IOLoop
from traitlets import Float, Int, Unicode, default

from equity_helpers import settings

__all__ = ["PresentKernelManager", "RoomFull", "ROOM_FULL"]

ROOM_FULL = {
    "en": ("The room is full", "The dashboard is open in {n} pages already, as many as this computer allows at "
           "once. Please try again in a minute or two, when someone has closed theirs; or look on with a "
           "neighbour."),
    "es": ("La sala está llena", "El tablero ya está abierto en {n} páginas, todas las que esta computadora "
           "permite a la vez. Vuelva a intentarlo en uno o dos minutos, cuando alguien haya cerrado la suya; o "
           "mírelo con la persona de al lado."),
}
"""The full-room page's title and text (``{n}``: the cap) in each language of the dashboard."""


class RoomFull(web.HTTPError):
    """A page view refused because ``max_kernels`` kernels are running (HTTP 503, Service Unavailable).

    Parameters
    ----------
    cap : int
        The cap that was reached.
    language : str
        The dashboard's language (``en`` or ``es``; another falls back to English).

    Attributes
    ----------
    title, text : str
        What the full-room page (``503.html``) says.
    """

    def __init__(self, cap: int, language: str = "en"):
        title, text = ROOM_FULL.get(language, ROOM_FULL["en"])
        super().__init__(503, f"{cap} dashboard kernels are running (the cap)", reason="Room full")
        self.title = title
        self.text = text.format(n=cap)
        self.language = language if language in ROOM_FULL else "en"


class PresentKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager, freeing a kernel when its page has gone and capping the kernels (see
    the module's description). Configured on Voila's command line
    (:func:`equity_helpers.run.present.kernel_options`); its own defaults are no cap and no delay."""

    max_kernels = Int(0, config=True, help="Most kernels (open dashboard pages) at once; 0: no cap.")
    shutdown_delay = Float(0.0, config=True,
                           help="Seconds after a kernel's last websocket closed before it is shut down.")
    language = Unicode(config=True, help="Language of the full-room page (en or es).")

    @default("language")
    def _default_language(self) -> str:
        return settings.LANGUAGE.get() or "en"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0  # kernels whose start is under way (not yet in the manager's list)

    # -- the cap --------------------------------------------------------------------------------------------
    def running(self) -> int:
        """Kernels running or starting now."""
        return len(self.list_kernel_ids()) + self._starting

    async def start_kernel(self, *args, **kwargs) -> str:
        """Start a kernel, or raise :class:`RoomFull` when ``max_kernels`` are running or starting."""
        if self.max_kernels > 0 and self.running() >= self.max_kernels:
            self.log.warning("Refused a page: %d kernels are running (the cap).", self.running())
            raise RoomFull(self.max_kernels, self.language)
        self._starting += 1
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1

    # -- a page that has gone ---------------------------------------------------------------------------------
    def notify_disconnect(self, kernel_id: str) -> None:
        """A websocket of ``kernel_id`` closed: once none is left, shut the kernel down after the delay."""
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id) == 0:
            IOLoop.current().call_later(self.shutdown_delay, self._shutdown_if_unconnected, kernel_id)

    def connections(self, kernel_id: str) -> int:
        """Websockets open to ``kernel_id`` now (0 for a kernel that is gone)."""
        return self._kernel_connections.get(kernel_id, 0)

    def _shutdown_if_unconnected(self, kernel_id: str) -> asyncio.Future | None:
        if kernel_id not in self or self.connections(kernel_id) > 0:
            return None  # gone already (Voila's beforeunload request) or its page reconnected
        self.log.info("Shutting down kernel %s: its page has gone.", kernel_id)
        return asyncio.ensure_future(self._shutdown_quietly(kernel_id))

    async def _shutdown_quietly(self, kernel_id: str) -> None:
        try:
            await ensure_async(self.shutdown_kernel(kernel_id))
        except KeyError:  # shut down meanwhile by another request
            pass
