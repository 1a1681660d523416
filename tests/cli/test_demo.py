"""`sensorkit demo --short`: three simulated devices recorded live, both pipelines, scores and the HTML report.

The demo runs once (40-50 s on the shared 2-core machine) and the tests below check what it left: the report's
images and links exist, the scores printed are the report's, the recording holds GPR, audio and GNSS with GNSS
positions on the GPR traces, and every frame the simulators' link noise destroyed is a gap in the file.
"""

import base64
import html.parser
import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensorkit.store import Recording
from sensorkit.store.schema import FLAG_POSITION_INTERPOLATED

REPO = Path(__file__).resolve().parents[2]
SCORE_LINE = re.compile(r"^score (\S+) = (.*?)    # ")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`sensorkit demo --short` run once, as a user runs it (a subprocess): exit code, output folder, stdout."""
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "sensorkit.cli.main", "demo", "--short", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    return {"code": proc.returncode, "out": out, "stdout": proc.stdout, "stderr": proc.stderr}


class _Page(html.parser.HTMLParser):
    """Image sources, link targets and score rows (data-key -> value cell text) of the report."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.scores = [], [], {}
        self._key = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src"))
        elif tag == "a":
            self.links.append(a.get("href"))
        elif tag == "tr" and "score" in (a.get("class") or "").split():
            self._key = a["data-key"]
        elif tag == "td" and self._key and "value" in (a.get("class") or "").split():
            self._in_value = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_value = False
        elif tag == "tr":
            self._key = None

    def handle_data(self, data):
        if self._in_value and self._key:
            self.scores[self._key] = self.scores.get(self._key, "") + data


def _page(demo) -> _Page:
    page = _Page()
    page.feed((demo["out"] / "report" / "index.html").read_text(encoding="utf-8"))
    return page


@pytest.mark.slow  # the fixture runs the short demo (40-50 s)
def test_demo_completes_and_says_where_the_report_is(demo):
    assert demo["code"] == 0, demo["stdout"][-3000:] + demo["stderr"][-3000:]
    index = (demo["out"] / "report" / "index.html").resolve()
    assert f"report: {index}" in demo["stdout"]
    assert index.is_file()


@pytest.mark.slow  # the fixture runs the short demo (40-50 s)
def test_every_image_and_link_of_the_report_exists(demo):
    page = _page(demo)
    report = demo["out"] / "report"
    # the depth-slice map, B-scans, spectrogram and bearing-time plots at least
    assert len(page.images) >= 5, page.images
    for src in page.images + page.links:
        assert src, "an <img> or <a> without a target"
        if src.startswith("data:"):
            header, _, payload = src.partition(",")
            assert header.startswith("data:image/") and ";base64" in header, header
            assert base64.b64decode(payload, validate=True)
            continue
        target = report / src
        assert target.is_file() and target.stat().st_size > 0, f"{src} missing"
        if target.suffix == ".png":
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "detections.geojson" in page.links
    geo = json.loads((report / "detections.geojson").read_text())
    assert geo["type"] == "FeatureCollection" and geo["features"]


@pytest.mark.slow  # the fixture runs the short demo (40-50 s)
def test_printed_scores_are_the_reports(demo):
    printed = {}
    for line in demo["stdout"].splitlines():
        m = SCORE_LINE.match(line)
        if m:
            printed[m.group(1)] = m.group(2)
    assert printed == _page(demo).scores
    for kind, module in (("mines", "sensorkit.scoring.mines"), ("drones", "sensorkit.scoring.drones")):
        if importlib.util.find_spec(module) is not None:
            assert f"{kind}.pd" in printed
        else:  # said plainly, never a made-up number
            assert f"[{kind}]" in demo["stdout"] and "not available in this build" in demo["stdout"]
    results = json.loads((demo["out"] / "report" / "results.json").read_text())
    if "mines.pd" in printed:  # the short lane holds 2 mines
        s = results["mines"]["score"]
        assert s["n_mines"] == 2 and printed["mines.pd"] == f"{s['pd']:.3f} ({s['found']}/2)"


@pytest.mark.slow  # the fixture runs the short demo (40-50 s)
def test_the_recording_holds_the_three_devices_with_gnss_positions_on_the_traces(demo):
    with Recording(demo["out"] / "demo.h5") as rec:
        assert rec.gpr_names == ["gpr"] and rec.acoustic_names == ["mic"] and rec.gnss_names == ["gnss"]
        gpr = rec.gpr("gpr")
        meta = gpr.trace_meta[:]
        assert gpr.n_channels == 21 and gpr.n_samples == 256  # 1 m across every 5 cm; 256 samples
        assert gpr.antenna_height_m == pytest.approx(0.06)  # as the cart's IDENT says (the lane's antenna)
        audio = rec.acoustic("mic")
        assert audio.fs_hz == 16000.0 and audio.n_channels == 8 and audio.n_frames > 8 * 16000
        fixes = rec.gnss_fixes("gnss")
    # one pass of a 2 m lane, a trace every 2 cm (101), less the traces a lost frame made incomplete
    assert 85 <= len(meta) <= 101
    assert meta["x_m"].min() < 0.1 and meta["x_m"].max() > 1.9
    assert len(fixes) >= 5 * 7  # 5 fixes/s for the ~8.5 s of the recording
    positioned = (meta["flags"] & FLAG_POSITION_INTERPOLATED) > 0
    assert positioned.sum() >= len(meta) - 3
    # the lane runs east (heading 90) from 52 N 5 E: GNSS lon gives the distance along the lane, to a few cm
    lat, lon, x = meta["lat"][positioned], meta["lon"][positioned], meta["x_m"][positioned]
    east_m = np.radians(lon - 5.0) * 6378137.0 / math.sqrt(1 - 6.69437999014e-3 * math.sin(math.radians(52)) ** 2) \
        * math.cos(math.radians(52.0))
    assert np.abs(lat - 52.0).max() < 1e-6
    assert np.abs(east_m - x).max() < 0.05, np.abs(east_m - x).max()


@pytest.mark.slow  # the fixture runs the short demo (40-50 s)
def test_every_frame_the_link_noise_destroyed_is_a_gap_in_the_file(demo):
    results = json.loads((demo["out"] / "report" / "results.json").read_text())
    injected = results["recording"]["injected"]
    streams = results["recording"]["health"]["streams"]

    def lost(c):
        return c.get("corrupted", 0) + c.get("dropped", 0) + c.get("lost_disconnected", 0) + \
            c.get("after_corrupted_delimiter", 0)

    # GPR link (corruption and drops only): each destroyed frame is one missing frame in a gap event, and
    # costs its multi-channel trace (one trace may lose two frames)
    gpr, g = injected["gpr"], streams["gpr/gpr"]
    assert lost(gpr) > 0 and g["missing"] == lost(gpr), (gpr, g)
    assert 0 < g["incomplete_traces"] <= g["missing"]
    # microphone array: every block the device made is in the file or reported missing (a block in flight
    # when the cable is pulled is logged as sent by the simulator and lost all the same)
    mic, m = injected["mic"], streams["acoustic/mic"]
    assert m["records"] + m["missing"] == mic["sent"] + lost(mic), (mic, m)
    assert m["missing"] >= lost(mic) > 0
    # the array's cable is pulled once (7 s after the recorder opens it): the recorder reconnects each time
    assert mic["disconnects"] == m["reconnects"] >= 1 and mic["lost_disconnected"] > 0


# ------------------------------------------------------------------------------------------------ without devices

def test_a_missing_pipeline_is_said_plainly_and_never_scored(tmp_path, monkeypatch):
    import sensorkit.demo as demo_module
    from sensorkit.demo_report import write_report
    from sensorkit.demo_scenario import DemoScenario

    monkeypatch.setattr(demo_module, "_available", lambda module: False)
    lines = []
    scn = DemoScenario.short()
    mines = demo_module._mines(scn, tmp_path / "absent.h5", tmp_path, lines.append)
    drones = demo_module._drones(scn, tmp_path / "absent.h5", {}, tmp_path, lines.append)
    assert mines == {"status": "unavailable", "reason": "landmine pipeline not available in this build"}
    assert drones == {"status": "unavailable", "reason": "drone pipeline not available in this build"}
    assert lines == ["[mines] the landmine pipeline is not available in this build",
                     "[drones] the drone pipeline is not available in this build"]
    results = {"scenario": scn.to_dict(), "short": True, "recording": {"status": "skipped", "reason": "test"},
               "mines": mines, "drones": drones, "times_s": {}}
    results["scores"] = demo_module.score_items(results)
    assert results["scores"] == []
    page = _Page()
    text = write_report(results, tmp_path).read_text(encoding="utf-8")
    page.feed(text)
    assert page.scores == {} and page.images == []
    assert "landmine pipeline not available in this build" in text
    assert "drone pipeline not available in this build" in text


def test_a_failed_recording_skips_the_pipelines_and_still_writes_the_report(tmp_path, monkeypatch):
    import sensorkit.demo as demo_module

    def broken(scn, out_dir, log):
        raise RuntimeError("simulators: no 'ready' from the simulator process within 120 s")

    monkeypatch.setattr(demo_module, "_record", broken)
    lines = []
    results = demo_module.run_demo(tmp_path, short=True, keep_going=True, log=lines.append)
    assert results["ok"] is False and results["scores"] == []
    assert results["recording"]["status"] == "failed"
    assert results["mines"]["status"] == results["drones"]["status"] == "skipped"
    assert "[record] FAILED: RuntimeError: simulators: no 'ready' from the simulator process within 120 s" in lines
    text = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "recording failed:" in text and "no recording (the recording step failed)" in text
    assert lines[-1] == f"report: {(tmp_path / 'report' / 'index.html').resolve()}"
