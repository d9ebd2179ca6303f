"""The facilitator's dashboard as widgets (no browser): filters redraw the story; the server command's
pieces (release folder, Voila command line, template)."""
import json
from pathlib import Path

import pytest

from equity_helpers import settings
from equity_helpers.pages import dashboard
from equity_helpers.run import present
from equity_helpers.pages.i18n import Catalogue
from equity_helpers.schema import STATE
from equity_helpers.pages.story import StoryFilters


@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


def test_filters_redraw_the_story(wb):
    d = dashboard.Dashboard(wb, language="en")
    assert d.filters() == StoryFilters(place=STATE, first_year=2020, last_year=2025, group="black", reference="white",
                                       basis="population")
    assert "Where do the gaps open up? Statewide, FY2020-FY2025" in d.header.value
    assert d.story["gaps"][0].startswith('At "entering foster care", American Indian/Alaska Native children had 6.2')
    assert d.story["stage_sentences"][0].startswith('At "entering foster care", Black children had 3.2 times')
    d.place.value = "Bluff"
    assert [label for label, _ in d.years.options] == ["FY2020-FY2025", "FY2023-FY2025", "FY2020-FY2022"]
    assert "Bluff, FY2020-FY2025" in d.header.value and d.story["rows"]["status"].eq("hidden").any()
    d.years.value = (2023, 2025)
    assert d.story["baseline"] == "" and "Only one period is published for Bluff" in d.story["changes"][0]
    d.place.value = STATE
    assert d.years.value == (2023, 2025)  # a window both places publish is kept
    d.group.value = "hispanic"
    assert d.story["stage_sentences"][0].startswith('At "entering foster care", Hispanic children had')
    d.reference.value = "all_other"
    assert "all other children" in d.story["stage_sentences"][0]
    d.basis.value = "decision"
    assert set(d.story["rows"]["basis"]) == {"decision"}
    d.stage.value = "first_placement_kin"
    assert "first placed with kin" in d.story["stage_alt"]


def test_the_spanish_dashboard_speaks_spanish(wb):
    d = dashboard.Dashboard(wb, language="es")
    es = Catalogue("es")
    assert d.place.description == "Lugar" and d.place.options[0] == ("Todo el estado", STATE)
    assert [label for label, _ in d.basis.options] == [es.t("basis_population"), es.t("basis_decision")]
    assert "¿Dónde se abren las brechas? Todo el estado, AF2020-AF2025" in d.header.value
    assert "Preguntas para conversar" in d.general.value
    assert d.story["stage_sentences"][0].startswith('En "ingreso a cuidado de crianza", los niños afroamericanos')


def test_present_uses_a_published_release_as_it_is(tmp_path, sample_release):
    reports = tmp_path / "reports"
    sample_release.write(reports)
    before = sorted(p.name for p in reports.iterdir())
    assert present.release_folder(reports, scratch=tmp_path / "scratch") == reports
    present.publish_release(reports, out=reports, measures=tmp_path / "measures.pkl")
    assert sorted(p.name for p in reports.iterdir()) == before, "nothing is written into a reports folder"
    assert (tmp_path / "measures.pkl").is_file()


def test_a_second_start_on_unchanged_files_reuses_the_kept_release(tmp_path, sample_release):
    import os
    import shutil
    import time

    from equity_helpers.release.table import release_cache_dir

    from ..conftest import SAMPLE

    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    stamp = time.time_ns()  # files of their own: the key is names, sizes and modification times
    for f in data.iterdir():
        os.utime(f, ns=(stamp, stamp))
    first = present.release_folder(data, scratch=tmp_path / "one")
    assert first == tmp_path / "one" / "release"
    present.publish_release(data, out=first)
    kept = present.release_folder(data, scratch=tmp_path / "two")
    assert kept.parent == release_cache_dir() and (kept / "release.csv").read_bytes() == (
        first / "release.csv").read_bytes()
    os.utime(data / "reports.csv", ns=(1, 1))  # a changed file: a new key, built again
    assert present.release_folder(data, scratch=tmp_path / "three") == tmp_path / "three" / "release"


def test_the_server_is_local_and_shows_no_code(tmp_path):
    cmd = present.voila_command(port=8999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--strip_sources=True" in cmd and "--template=equity" in cmd
    assert "--no-browser" in cmd and "--show_tracebacks=False" in cmd
    # the server's kernels: ours (freed when their page has gone, capped), culled when no page is connected
    assert f"--VoilaConfiguration.multi_kernel_manager_class={present._KERNEL_MANAGER}" in cmd
    assert "--PresentKernelManager.max_kernels=6" in cmd and "--PresentKernelManager.cull_connected=False" in cmd
    assert "--PresentKernelManager.max_kernels=2" in present.voila_command(port=8999, max_kernels=2)
    env = present.voila_environment(tmp_path, "es")
    assert env["JUPYTER_PATH"].split(":")[0] == str(present.TEMPLATE_ROOT)
    assert env[settings.LANGUAGE.name] == "es" and env[settings.PRESENT_RELEASE.name] == str(tmp_path)
    template = present.TEMPLATE_ROOT / "voila" / "templates" / "equity"
    assert json.loads((template / "conf.json").read_text())["base_template"] == "lab"
    nb = json.loads(present.DASHBOARD_NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"])


def test_the_dashboard_kernel_needs_the_release_folder(monkeypatch):
    from equity_helpers.errors import ParameterError

    monkeypatch.delenv(settings.PRESENT_RELEASE.name, raising=False)
    with pytest.raises(ParameterError, match="equity-workbook present"):
        dashboard.dashboard_from_environment()


def test_a_port_in_use_is_named_before_anything_starts(tmp_path):
    import socket

    from equity_helpers.errors import ParameterError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ParameterError, match=f"Port {port} is already in use"):
            present.serve(tmp_path, port=port)


def test_stopping_the_command_stops_the_server_and_removes_the_release(sample_release):
    """SIGTERM (or Ctrl-C) stops Voila and its kernels and removes the private release folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from ..conftest import SAMPLE

    port = present.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "equity_helpers.run.cli", "present", "--data", str(SAMPLE),
                             "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "is ready at" in lines[-1], lines
        children = psutil.Process(proc.pid).children(recursive=True)
        server = [c for c in children if "voila" in " ".join(c.cmdline())]
        assert len(server) == 1
        env = server[0].environ()
        release, private = Path(env[settings.PRESENT_RELEASE.name]), Path(env[settings.PRESENT_MEASURES.name]).parent
        assert (release / "release.csv").exists() and oct(private.stat().st_mode)[-3:] == "700"
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "has stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not private.exists()


def test_bad_data_stop_the_command_with_every_problem_and_no_server_left(tmp_path):
    import shutil
    import subprocess
    import sys

    import pandas as pd
    import psutil

    from ..conftest import SAMPLE

    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    children = pd.read_csv(data / "children.csv", dtype=str)
    children.drop(columns=["birth_date"]).to_csv(data / "children.csv", index=False)
    before = {p.pid for p in psutil.process_iter(["cmdline"]) if "voila" in " ".join(p.info["cmdline"] or [])}
    run = subprocess.run([sys.executable, "-m", "equity_helpers.run.cli", "present", "--data", str(data), "--port",
                          str(present.free_port())], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "has no 'birth_date' column" in run.stderr and "Traceback" not in run.stderr
    after = {p.pid for p in psutil.process_iter(["cmdline"]) if "voila" in " ".join(p.info["cmdline"] or [])}
    assert after <= before, "the server started for these data was stopped"
