"""One warm kernel per batch worker: each notebook starts with a clean namespace, its own folder and
environment and execution count 1; imported modules stay; a failed run or a dead kernel gets a new kernel;
shutdown leaves no process."""
import nbformat
import psutil
import pytest

from equity_helpers.settings import VEGA_SRC
from equity_helpers.run.kernels import WarmKernel
from equity_helpers.run.report import run_notebook


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("name = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    text = "".join(o.get("text", "") for c in code for o in c.get("outputs", []))
    return [c.execution_count for c in code], text


@pytest.fixture
def kernel():
    k = WarmKernel()
    yield k
    k.shutdown()


def test_each_notebook_starts_clean_in_the_same_kernel(kernel, tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _notebook(tmp_path / "a" / "first.ipynb",
                      "import json, os\njson._warm_marker = name\nleft_behind = 1\n"
                      "print('cwd', os.path.basename(os.getcwd()), 'vega', os.environ.get(%r))" % VEGA_SRC.name)
    second = _notebook(tmp_path / "b" / "second.ipynb",
                       "import json, os\nprint('left', 'left_behind' in globals(), 'marker', json._warm_marker)\n"
                       "print('cwd', os.path.basename(os.getcwd()), 'vega', os.environ.get(%r))" % VEGA_SRC.name)
    monkeypatch.setenv(VEGA_SRC.name, "../assets/vega-1.js")
    run_notebook(first, tmp_path / "out1.ipynb", parameters={"name": "first"}, kernel=kernel)
    pid = kernel.km.provisioner.process.pid
    monkeypatch.delenv(VEGA_SRC.name)
    run_notebook(second, tmp_path / "out2.ipynb", parameters={"name": "second"}, kernel=kernel)
    counts1, text1 = _outputs(tmp_path / "out1.ipynb")
    counts2, text2 = _outputs(tmp_path / "out2.ipynb")
    assert "cwd a vega ../assets/vega-1.js" in text1
    # the namespace was cleared, the module stayed imported (same kernel), the folder and environment followed
    assert "left False marker first" in text2 and "cwd b vega None" in text2
    assert counts1[0] == 1 and counts2[0] == 1 and counts2 == sorted(counts2)
    assert kernel.starts == 1 and kernel.runs == 2 and kernel.km.provisioner.process.pid == pid


def test_a_failed_run_or_a_dead_kernel_gets_a_new_kernel(kernel, tmp_path):
    import papermill as pm

    good = _notebook(tmp_path / "good.ipynb", "print('fine', name)")
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken on purpose')")
    run_notebook(good, tmp_path / "g1.ipynb", parameters={"name": "one"}, kernel=kernel)
    with pytest.raises(pm.PapermillExecutionError, match="broken on purpose"):
        run_notebook(bad, tmp_path / "b.ipynb", parameters={}, kernel=kernel)
    assert (tmp_path / "b.failed.ipynb").exists() and kernel.km is None  # replaced before the next run
    run_notebook(good, tmp_path / "g2.ipynb", parameters={"name": "two"}, kernel=kernel)
    assert kernel.starts == 2 and "fine two" in _outputs(tmp_path / "g2.ipynb")[1]
    dead = psutil.Process(kernel.km.provisioner.process.pid)
    dead.kill()  # a kernel that died between runs
    dead.wait(timeout=10)
    run_notebook(good, tmp_path / "g3.ipynb", parameters={"name": "three"}, kernel=kernel)
    assert kernel.starts == 3 and "fine three" in _outputs(tmp_path / "g3.ipynb")[1]


def test_kernel_messages_are_kept_per_run_and_shutdown_ends_the_kernel(kernel, tmp_path):
    loud = _notebook(tmp_path / "loud.ipynb", "import os\nos.write(2, b'a low-level warning\\n')")
    quiet = _notebook(tmp_path / "quiet.ipynb", "pass")
    run_notebook(loud, tmp_path / "l.ipynb", parameters={}, kernel=kernel)
    assert "a low-level warning" in kernel.last_messages
    run_notebook(quiet, tmp_path / "q.ipynb", parameters={}, kernel=kernel)
    assert "a low-level warning" not in kernel.last_messages
    proc = psutil.Process(kernel.km.provisioner.process.pid)
    kernel.shutdown()
    proc.wait(timeout=10)
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
