"""The dashboard server's kernels: one per open page, freed when the page has gone, never more than a cap.

Voila starts a kernel (about 190 MB) for every view of the dashboard. ``equity-workbook present`` gives Voila
:class:`PresentKernelManager` (``VoilaConfiguration.multi_kernel_manager_class``), jupyter_server's kernel
manager with four additions, configured on Voila's command line by
:func:`equity_helpers.run.present.kernel_options` (which holds the defaults):

* **a page that has gone frees its kernel**: when the last websocket of a kernel closes (the tab was closed,
  reloaded or navigated away; the browser quit), the kernel is shut down ``shutdown_delay`` seconds later
  unless a websocket has connected again meanwhile (the page's own reconnection after a network hiccup).
  Voila's page also asks for its kernel's shutdown on ``beforeunload``; this does not depend on it;
* **kernel culling as a backstop** (jupyter_server's own): a kernel with no websocket that has been idle
  ``cull_idle_timeout`` seconds is shut down, checked every ``cull_interval`` seconds. A page whose kernel
  never connected (a request abandoned while the page was drawing) is freed this way; a page still open is
  never culled (``cull_connected`` off), however long a discussion sits on one chart;
* **a cap**: with ``max_kernels`` kernels running (or starting), a new page view is refused with HTTP 503 and
  a plain page saying the room is full, in the dashboard's language (``503.html`` of the ``equity`` Voila
  template), instead of a new kernel. Kernels of pages that have gone and wait for their delay are shut down
  at once to make room first;
* **no page stalls at "Running ..."**: the clients Voila draws pages with are woken once a second
  (:class:`PresentKernelClient`).

Voila's preheated kernels (``--preheat_kernel``, off in ``present``) keep working: Voila wraps this class,
its pool's kernels never connect a websocket before a page takes them, and Voila keeps them from the culler.
They count towards the cap.

Only the server imports this module (by name, from Voila's command line): it imports jupyter_server.
"""
from __future__ import annotations

import asyncio
import weakref

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import DottedObjectName, Float, Int, Type, Unicode, default

from equity_helpers import settings

__all__ = ["PresentKernelManager", "PresentServerKernelManager", "PresentKernelClient", "RoomFull", "ROOM_FULL",
           "WAKE_INTERVAL"]

WAKE_INTERVAL = 1.0
"""Seconds between two looks at the server's kernel clients' sockets (:meth:`PresentKernelClient.wake_all`)."""

ROOM_FULL = {
    "en": ("The room is full", "The dashboard is already open in as many pages as this computer can serve at once "
           "({n}). Please try again in a minute or two, when someone has closed theirs, or look on with a "
           "neighbour."),
    "es": ("La sala está llena", "El tablero ya está abierto en tantas páginas como esta computadora puede atender "
           "a la vez ({n}). Vuelva a intentarlo en uno o dos minutos, cuando alguien haya cerrado la suya, o mírelo "
           "con la persona de al lado."),
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


class PresentKernelClient(AsyncKernelClient):
    """The client Voila draws a page with (it runs the notebook in the page's kernel), woken once a second.

    A page sometimes stalled at Voila's "Running ..." until it was reloaded (measured: 2 of the first 3 views
    while another page's kernel was shut down; the issue's first view after a start): the kernel had run the
    notebook and replied, but the reply sat in the client's shell socket unseen. ZeroMQ signals a socket's
    readiness to the event loop by an edge on its file descriptor, and the edge can be missed; asking the
    socket for its events (``zmq.EVENTS``) re-arms it, and the waiting read then completes. :meth:`wake_all`
    does that for every open channel of every client of the server (a few sockets, once a second).
    """

    _clients: weakref.WeakSet = weakref.WeakSet()

    def start_channels(self, *args, **kwargs) -> None:
        """Start the channels and keep this client among those :meth:`wake_all` looks at."""
        super().start_channels(*args, **kwargs)
        PresentKernelClient._clients.add(self)

    def wake(self) -> None:
        """Ask each open channel's socket for its events (re-arming a missed readiness edge)."""
        for channel in (self._shell_channel, self._iopub_channel, self._stdin_channel, self._control_channel):
            socket = getattr(channel, "socket", None)
            if socket is not None and not socket.closed:
                try:
                    socket.get(zmq.EVENTS)
                except zmq.ZMQError:  # closed meanwhile
                    pass

    @classmethod
    def wake_all(cls) -> None:
        """:meth:`wake` every client of this process."""
        for client in list(cls._clients):
            client.wake()


class PresentServerKernelManager(ServerKernelManager):
    """jupyter_server's manager of one kernel, whose clients are :class:`PresentKernelClient`."""

    client_class = DottedObjectName(f"{__name__}.PresentKernelClient", config=True)
    client_factory = Type(klass=f"{__name__}.PresentKernelClient", config=True)


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
        self._gone: set[str] = set()  # kernels whose page has gone, waiting for their shutdown
        self._wakeups = PeriodicCallback(PresentKernelClient.wake_all, 1000 * WAKE_INTERVAL)
        self._wakeups.start()

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return f"{__name__}.PresentServerKernelManager"

    # -- the cap --------------------------------------------------------------------------------------------
    def running(self) -> int:
        """Kernels running or starting now."""
        return len(self.list_kernel_ids()) + self._starting

    async def start_kernel(self, *args, **kwargs) -> str:
        """Start a kernel, or raise :class:`RoomFull` when ``max_kernels`` are running or starting. At the cap,
        the kernels of pages that have gone are shut down at once, not after the delay, to make room."""
        if self.max_kernels > 0 and self.running() >= self.max_kernels:
            for kernel_id in list(self._gone):
                await self._shutdown_if_unconnected(kernel_id)
        if self.max_kernels > 0 and self.running() >= self.max_kernels:
            self.log.warning("Refused a page: %d kernels are running (the cap).", self.running())
            raise RoomFull(self.max_kernels, self.language)
        self._starting += 1
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1

    # -- a page that has gone ---------------------------------------------------------------------------------
    def connections(self, kernel_id: str) -> int:
        """Websockets open to ``kernel_id`` now (0 for a kernel that is gone)."""
        return self._kernel_connections.get(kernel_id, 0)

    def notify_connect(self, kernel_id: str) -> None:
        """A websocket of ``kernel_id`` opened (a page, or its reconnection): the kernel stays."""
        super().notify_connect(kernel_id)
        self._gone.discard(kernel_id)

    def notify_disconnect(self, kernel_id: str) -> None:
        """A websocket of ``kernel_id`` closed: once none is left, shut the kernel down after the delay."""
        super().notify_disconnect(kernel_id)
        if kernel_id in self and self.connections(kernel_id) == 0:
            self._gone.add(kernel_id)
            IOLoop.current().call_later(self.shutdown_delay, self._shutdown_if_unconnected, kernel_id)

    def _shutdown_if_unconnected(self, kernel_id: str) -> asyncio.Future:
        """Shut ``kernel_id`` down unless it is gone already (Voila's ``beforeunload`` request, the culler) or
        its page has connected again."""
        self._gone.discard(kernel_id)
        if kernel_id not in self or self.connections(kernel_id) > 0:
            return asyncio.ensure_future(asyncio.sleep(0))
        self.log.info("Shutting down kernel %s: its page has gone.", kernel_id)
        return asyncio.ensure_future(self._shutdown_quietly(kernel_id))

    async def _shutdown_quietly(self, kernel_id: str) -> None:
        try:
            await ensure_async(self.shutdown_kernel(kernel_id))
        except KeyError:  # shut down meanwhile by another request
            pass
