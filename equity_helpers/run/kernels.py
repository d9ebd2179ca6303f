"""One warm Python kernel per batch worker: notebooks run one after another in the same kernel.

Papermill starts a new kernel for every notebook, and every kernel then imports pandas, Altair and this
package and opens the batch's validated workbook again: about two thirds of a sample run's time before its
first chart. A batch worker instead keeps one kernel (:class:`WarmKernel`) and, before each notebook:

* clears the user namespace and starts a new history session (IPython's ``InteractiveShell.reset``: every
  variable, the output cache, the execution count back to 1) and sets the working folder and the environment
  the run's kernel would have started with, so the executed notebook reads exactly as one from a new kernel;
* the imported modules stay imported, and the workbook a batch validated once is opened once per kernel
  (:func:`equity_helpers.pages.workbook.start` keeps the last one opened, keyed by the cache file's size and
  modification time).

A run that fails gets a new kernel for the next run (a cell may have left the kernel busy or broken); a
kernel that died is started again. The kernel's stderr goes to a private temporary file, read back per run
(``kernel_messages`` in the manifest). The kernel ends when its worker ends (``shutdown`` is registered as a
multiprocessing finaliser; ipykernel also ends itself when its parent process is gone), and the batch's
signal handling stops it with the worker on Ctrl-C.

Papermill executes each notebook through the ``equity-warm`` engine registered here: papermill's own nbclient
engine, given the warm kernel's manager and its one client (connected and ready once per kernel: a new client
waits about 0.2 s for the kernel's output channel to go quiet), which leaves the kernel running. nbclient
reads only the replies and outputs of its own requests, so nothing of one run reaches the next.
"""
from __future__ import annotations

import os
import tempfile
from multiprocessing import util
from pathlib import Path

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from equity_helpers import settings

__all__ = ["WarmKernel", "ENGINE", "warm_kernel", "shutdown_warm_kernel"]

ENGINE = "equity-warm"
"""The papermill engine name that runs a notebook in a :class:`WarmKernel`."""


class WarmEngine(NBClientEngine):
    """Papermill's nbclient engine on a kernel that is already running (``km``), kept running after the run."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, *, km, kc, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log=logger, log_output=log_output, stdout_file=stdout_file,
                             stderr_file=stderr_file)
        client = PapermillNotebookClient(nb_man, km=km, **final)
        client.kc = kc  # the warm kernel's client, ready: nbclient neither starts nor stops one
        return client.execute()


papermill_engines.register(ENGINE, WarmEngine)

# what runs in the kernel before each notebook: a clean namespace, the run's folder and environment, and the
# execution count of a new kernel
_PREPARE = """\
def _eh_prepare(cwd, env):
    import os
    get_ipython().reset(new_session=True)
    os.chdir(cwd)
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
_eh_prepare({cwd}, {env})  # the reset inside it also removes the function itself
"""

class WarmKernel:
    """A Python kernel kept running between notebook runs (see the module's description).

    Parameters
    ----------
    kernel_name : str
        The Jupyter kernel (``python3``).
    """

    def __init__(self, kernel_name: str = "python3"):
        self.kernel_name = kernel_name
        self.km = None
        self.kc = None  # the one client of the running kernel
        self.runs = 0  # notebooks run in the current kernel
        self.starts = 0  # kernels started
        self.last_messages: list[str] = []  # what the kernel wrote to stderr during the last run
        self._log = None
        self._offset = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager  # Jupyter: imported only when a kernel is started
        from jupyter_core.utils import run_sync  # Jupyter: imported only when a kernel is started

        self._log = tempfile.TemporaryFile(mode="w+b")  # private (0600, unlinked)
        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(self.km.start_kernel)(stderr=self._log, env=dict(os.environ))
        run_sync(self._connect)()
        self.runs = 0
        self.starts += 1

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync  # Jupyter: imported only when a kernel is started

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def shutdown(self) -> None:
        """Stop the kernel (if running) and remove its log."""
        from jupyter_core.utils import run_sync  # Jupyter: imported only when a kernel is started

        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
            self.km = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- runs ----------------------------------------------------------------------------------------------------
    def prepare(self, *, cwd: str | Path, env: dict[str, str | None] | None = None) -> None:
        """Make the kernel ready for the next notebook, starting it if needed. ``env``: the variables to set
        (``None`` removes one); by default those of :func:`passed_env` as this process has them now."""
        from jupyter_core.utils import run_sync  # Jupyter: imported only when a kernel is started

        if env is None:
            env = {k: os.environ.get(k) for k in passed_env()}
        if not self.alive():
            self.shutdown()
            self._start()
        code = _PREPARE.format(cwd=repr(str(cwd)), env=repr(dict(env)))
        try:
            run_sync(self._execute)(code)
        except Exception:  # a kernel that does not answer or fails to reset: a new one
            self.shutdown()
            self._start()
            run_sync(self._execute)(code)
        self._log.seek(0, os.SEEK_END)
        self._offset = self._log.tell()
        self.last_messages = []

    async def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.allow_stdin = False
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)

    async def _execute(self, code: str) -> None:
        reply = await self.kc.execute_interactive(code, store_history=False, timeout=60,
                                                  output_hook=lambda m: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the kernel could not be prepared: {reply['content'].get('evalue', '')}")

    def finished(self, ok: bool) -> None:
        """After a run: keep what the kernel wrote to stderr during it (:attr:`last_messages`); a failed run's
        kernel is replaced before the next run."""
        self.runs += 1
        if self._log is not None:
            self._log.seek(self._offset)
            self.last_messages = self._log.read().decode("utf-8", "replace").splitlines()
        if not ok:
            self.shutdown()


def passed_env() -> tuple[str, ...]:
    """Environment variables a batch sets per run for the kernel (where the shared Vega runtime is)."""
    return (settings.VEGA_SRC.name,)


_WARM: WarmKernel | None = None


def warm_kernel() -> WarmKernel:
    """This process's warm kernel (created on first use; stopped when the process ends)."""
    global _WARM
    if _WARM is None:
        _WARM = WarmKernel()
        util.Finalize(_WARM, _WARM.shutdown, exitpriority=100)
    return _WARM


def shutdown_warm_kernel() -> None:
    """Stop this process's warm kernel, if there is one."""
    global _WARM
    if _WARM is not None:
        _WARM.shutdown()
        _WARM = None
