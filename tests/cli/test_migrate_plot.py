"""`sensorkit migrate` and `sensorkit plot`: synthetic grids with a known scatterer, and the real dune400 survey."""

import json
import struct

import h5py
import numpy as np
import pytest

from sensorkit.formats.base import Imported
from sensorkit.plots import image_envelope
from sensorkit.store import RecordingWriter, write_imported
from sensorkit.synth.gpr import Antenna, GprScene, Scatterer, simulate_line
from sensorkit.synth.soil import Soil

DT_S = 0.1e-9        # 10 samples a period of the 1 GHz wavelet
N_SAMPLES = 96       # 9.6 ns: depths to 0.475 m at 0.1 m/ns
X_M = np.round(np.arange(0.0, 1.0001, 0.02), 6)   # 51 traces a line
LINE_SPACING_M = 0.05
N_LINES = 13         # y 0 .. 0.6 m
TARGET = (0.5, 0.3, 0.25)  # x, y, depth (m) of the buried point
V_M_PER_NS = 0.299792458 / 3.0  # eps_r 9


def _scene():
    return GprScene(soil=Soil(eps_r=9.0), scatterers=[Scatterer(*TARGET, kind="point", amplitude=1.0)],
                    antenna=Antenna(centre_frequency_hz=1.0e9), direct_wave=True, surface_reflection=False,
                    noise_rms=0.0)


def _write_recording(path, n_lines=N_LINES, with_y=True):
    scene = _scene()
    imported = Imported(source=path, format="synthetic")
    for n in range(n_lines):
        y = n * LINE_SPACING_M
        line, _ = simulate_line(scene, X_M, N_SAMPLES, DT_S, y_m=y, seed=n, name=f"line{n:02d}")
        if not with_y:
            line.trace_meta["y_m"] = np.nan
        imported.gpr.append(line)
    with RecordingWriter(path, overwrite=True) as writer:
        write_imported(writer, imported)
    return path


@pytest.fixture(scope="module")
def grid_recording(tmp_path_factory):
    return _write_recording(tmp_path_factory.mktemp("grid") / "grid.h5")


def _main(argv):
    """Run a command exactly as `sensorkit ...` does (errors -> one line on stderr, exit 2)."""
    from sensorkit.cli.main import main

    return main(argv)


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _common(out):
    return ["--velocity", f"{V_M_PER_NS}", "--time-zero", "0", "--out", str(out)]


# ---------------------------------------------------------------------------------------------- migrate 3D

@pytest.fixture(scope="module")
def migrated_3d(grid_recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "img.h5"
    plot_dir = out.parent / "plots"
    code = _main(["migrate", str(grid_recording), *_common(out), "--method", "kirchhoff", "--plot", str(plot_dir),
                  "--json"])
    assert code == 0
    return out, plot_dir


def test_migrate_3d_focuses_the_scatterer_within_one_cell(migrated_3d):
    out, _ = migrated_3d
    with h5py.File(out, "r") as f:
        image = f["image"][()]
        x, y, z = f["x_m"][()], f["y_m"][()], f["depth_m"][()]
        attrs = dict(f["image"].attrs)
        mask = f["mask"][()]
    assert image.dtype == np.float32
    assert image.shape == (51, 13, z.size)
    np.testing.assert_allclose(x, X_M, atol=1e-9)
    np.testing.assert_allclose(y, np.arange(N_LINES) * LINE_SPACING_M, atol=1e-9)
    dz = V_M_PER_NS * 1e9 * DT_S / 2
    np.testing.assert_allclose(np.diff(z), dz, rtol=1e-9)
    assert z[0] == 0.0 and z[-1] == pytest.approx((N_SAMPLES - 1) * dz, abs=dz)
    assert mask.shape == (51, 13) and mask.all()
    # the brightest voxel of the image's envelope (the signed image oscillates with the wavelet along depth)
    i, j, k = np.unravel_index(np.argmax(image_envelope(image)), image.shape)
    assert abs(x[i] - TARGET[0]) <= 0.02 + 1e-9
    assert abs(y[j] - TARGET[1]) <= LINE_SPACING_M + 1e-9
    assert abs(z[k] - TARGET[2]) <= dz + 1e-9
    assert attrs["method"] == "kirchhoff"
    assert attrs["velocity_m_per_ns"] == pytest.approx(V_M_PER_NS)
    assert attrs["velocity_mps"] == pytest.approx(V_M_PER_NS * 1e9)
    assert attrs["eps_r"] == pytest.approx(9.0)
    params = json.loads(attrs["parameters"])
    assert params["migration"]["aperture_m"] == 0.5 and params["migration"]["max_angle_deg"] == 60.0
    assert params["migration"]["dx_m"] == pytest.approx(0.02)
    assert params["migration"]["dy_m"] == pytest.approx(LINE_SPACING_M)
    assert params["time_zero_ns"] == 0.0
    assert params["gridding"]["mode"] == "grid" and params["gridding"]["filled_cells"] == 51 * 13
    assert params["preprocess"]["background"] == "mean"
    assert params["lines"] == [f"line{n:02d}" for n in range(N_LINES)]


def test_migrate_plots_a_depth_slice_at_the_scatterer_and_a_section(migrated_3d):
    _, plot_dir = migrated_3d
    pngs = sorted(plot_dir.glob("*.png"))
    assert [p.name.split("_")[1] for p in pngs] == ["depth", "section"]
    for p in pngs:
        assert _png_size(p) == (800, 500)
        assert p.stat().st_size > 5000
    # the brightest depth chosen for the slice is the scatterer's
    depth = float(pngs[0].name.split("_")[-1][:-5])
    assert depth == pytest.approx(TARGET[2], abs=0.011)
    assert pngs[1].name == "img_section_y_0.30m.png"


@pytest.mark.parametrize("method", ["stolt", "phase-shift"])
def test_migrate_fk_methods_focus_too(grid_recording, tmp_path, method):
    out = tmp_path / "img.h5"
    assert _main(["migrate", str(grid_recording), *_common(out), "--method", method, "--depth-max", "0.4"]) == 0
    with h5py.File(out, "r") as f:
        image, x, y, z = f["image"][()], f["x_m"][()], f["y_m"][()], f["depth_m"][()]
        assert f["image"].attrs["method"] == method.replace("-", "_")
    assert z[-1] == pytest.approx(0.4, abs=0.005)
    i, j, k = np.unravel_index(np.argmax(image_envelope(image)), image.shape)
    assert abs(x[i] - TARGET[0]) <= 0.02 + 1e-9
    assert abs(y[j] - TARGET[1]) <= LINE_SPACING_M + 1e-9
    assert abs(z[k] - TARGET[2]) <= 0.005 + 1e-9


# ---------------------------------------------------------------------------------------------- migrate 2D

def test_migrate_one_line_gives_a_2d_image(tmp_path, capsys):
    rec = _write_recording(tmp_path / "line.h5", n_lines=1, with_y=False)
    # the scatterer is 0.3 m to the side of the line at y = 0: its apex time is at sqrt(0.25**2 + 0.3**2)
    out = tmp_path / "img.h5"
    assert _main(["migrate", str(rec), *_common(out), "--json", "--plot", str(tmp_path / "p")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dims"] == 2 and summary["shape"][0] == 51
    with h5py.File(out, "r") as f:
        assert "y_m" not in f and "mask" not in f
        image, x, z = f["image"][()], f["x_m"][()], f["depth_m"][()]
    assert image.shape == (51, z.size)
    i, k = np.unravel_index(np.argmax(image_envelope(image)), image.shape)
    assert abs(x[i] - TARGET[0]) <= 0.02 + 1e-9
    assert abs(z[k] - np.hypot(TARGET[1], TARGET[2])) <= 0.005 + 1e-9
    assert [p.name for p in (tmp_path / "p").glob("*.png")] == ["img_section.png"]


# ---------------------------------------------------------------------------------------------- refusals

def test_migrate_refuses_to_overwrite_without_force(grid_recording, tmp_path, capsys):
    out = tmp_path / "img.h5"
    out.write_bytes(b"keep me")
    assert _main(["migrate", str(grid_recording), *_common(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "exists; use --force" in err
    assert out.read_bytes() == b"keep me"
    assert _main(["migrate", str(grid_recording), *_common(out), "--force", "--depth-max", "0.1"]) == 0
    with h5py.File(out, "r") as f:
        assert f["image"].shape[-1] == 21


@pytest.mark.parametrize("argv_tail, message", [
    (["--velocity", "0.5"], "--velocity: expected a ground velocity in m/ns"),
    (["--velocity", "0.1", "--time-zero", "90"], "time_zero_ns: expected a time zero inside the record"),
    (["--velocity", "0.1", "--method", "stolt", "--aperture", "0.3"], "--aperture: applies to --method kirchhoff"),
    (["--time-zero", "0"], "velocity: expected --velocity"),
])
def test_migrate_bad_options_exit_2_with_one_line(grid_recording, tmp_path, capsys, argv_tail, message):
    out = tmp_path / "img.h5"
    assert _main(["migrate", str(grid_recording), "--out", str(out), *argv_tail]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not out.exists() and not out.with_name("img.h5.partial").exists()


def test_migrate_bad_input_files_exit_2_with_one_line(tmp_path, capsys):
    garbage = tmp_path / "garbage.DZT"
    garbage.write_bytes(b"\x00\x01" * 10)
    assert _main(["migrate", str(garbage), "--velocity", "0.1", "--out", str(tmp_path / "img.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "garbage.DZT" in err
    no_y = _write_recording(tmp_path / "noy.h5", n_lines=2, with_y=False)
    assert _main(["migrate", str(no_y), "--velocity", "0.1", "--out", str(tmp_path / "img.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "give --line-spacing" in err


# ---------------------------------------------------------------------------------------------- plot

def test_plot_image_slices_and_sections(migrated_3d, tmp_path, capsys):
    img, _ = migrated_3d
    cases = [["--depth-slice", "0.25"], ["--section", "y=0.3"], ["--section", "x=0.5"]]
    for n, flags in enumerate(cases):
        out = tmp_path / f"p{n}.png"
        assert _main(["plot", str(img), *flags, "--out", str(out)]) == 0
        assert _png_size(out) == (800, 500) and out.stat().st_size > 5000
    assert "800 x 500 px" in capsys.readouterr().out
    assert _main(["plot", str(img), "--section", "y=7", "--out", str(tmp_path / "bad.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "y: expected a value within the image's 0 .. 0.6 m" in err
    assert _main(["plot", str(img), "--section", "z=1", "--out", str(tmp_path / "bad.png")]) == 2
    assert "expected x=X or y=Y" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()


def test_plot_recording_bscan_and_gridded_slice(grid_recording, tmp_path):
    out = tmp_path / "b.png"
    assert _main(["plot", str(grid_recording), "--bscan", "--stream", "line06", "--out", str(out)]) == 0
    assert _png_size(out) == (800, 500)
    assert _main(["plot", str(grid_recording), "--bscan", "--out", str(out)]) == 2  # exists, no --force
    assert _main(["plot", str(grid_recording), "--bscan", "--velocity", "0.1", "--out", str(out), "--force"]) == 0
    slice_png = tmp_path / "s.png"
    assert _main(["plot", str(grid_recording), "--depth-slice", "0.25", "--velocity", "0.1",
                  "--out", str(slice_png)]) == 0
    assert _png_size(slice_png) == (800, 500)
    assert _main(["plot", str(grid_recording), "--depth-slice", "0.25", "--out", str(tmp_path / "x.png")]) == 2


def test_plot_line_image_section(tmp_path):
    rec = _write_recording(tmp_path / "line.h5", n_lines=1, with_y=False)
    img = tmp_path / "img.h5"
    assert _main(["migrate", str(rec), *_common(img)]) == 0
    out = tmp_path / "sec.png"
    assert _main(["plot", str(img), "--bscan", "--out", str(out)]) == 0
    assert _png_size(out) == (800, 500)
    assert _main(["plot", str(img), "--depth-slice", "0.2", "--out", str(tmp_path / "no.png")]) == 2


# ---------------------------------------------------------------------------------------------- the real survey

def test_real_dune400_survey_six_lines_one_command(shared_data, tmp_path, capsys):
    files = [shared_data / "gpr" / "grid3d-dune400" / f"FILE____{n:03d}.DZT" for n in range(1, 7)]
    out = tmp_path / "dune.h5"
    plot_dir = tmp_path / "plots"
    assert _main(["migrate", *map(str, files), "--line-spacing", "0.2", "--velocity", "0.06", "--time-zero", "14",
                  "--method", "kirchhoff", "--depth-max", "0.5", "--dz", "0.01", "--out", str(out),
                  "--plot", str(plot_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # 451 traces at 50 scans/m: x 0 .. 9 m; 6 lines 0.2 m apart; depths 0 .. 0.5 m by 0.01 m
    assert summary["shape"] == [451, 6, 51]
    assert summary["x_m"] == pytest.approx([0.0, 9.0]) and summary["y_m"] == pytest.approx([0.0, 1.0])
    assert summary["time_zero_ns"] == 14.0
    with h5py.File(out, "r") as f:
        image = f["image"][()]
        assert f["image"].attrs["velocity_m_per_ns"] == pytest.approx(0.06)
        assert f["depth_m"][-1] == pytest.approx(0.5)
        np.testing.assert_allclose(f["y_m"][()], np.arange(6) * 0.2, atol=1e-9)
    assert np.isfinite(image).all() and np.abs(image).max() > 0
    pngs = sorted(plot_dir.glob("*.png"))
    assert len(pngs) == 2 and all(_png_size(p) == (800, 500) for p in pngs)
    # the brightest depth lies below one wavelength (0.06 m/ns / 400 MHz = 0.15 m)
    assert 0.15 <= summary["brightest_depth_m"] <= 0.5


def test_migrate_auto_velocity_reports_the_estimate(grid_recording, tmp_path, capsys):
    out = tmp_path / "img.h5"
    assert _main(["migrate", str(grid_recording), "--auto-velocity", "--time-zero", "0", "--depth-max", "0.35",
                  "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    # the scene's soil has eps_r 9: 0.0999 m/ns
    assert summary["velocity_m_per_ns"] == pytest.approx(V_M_PER_NS, rel=0.05)
    assert summary["velocity_source"] == "estimated from diffractions"
    assert 0.0 < summary["confidence"] <= 1.0 and summary["n_hyperbolae"] >= 1
    assert "estimated velocity" in captured.err and "confidence" in captured.err
    with h5py.File(out, "r") as f:
        params = json.loads(f["image"].attrs["parameters"])
    assert params["velocity"]["source"] == "estimated from diffractions"
    assert params["velocity"]["velocity_m_per_ns"] == pytest.approx(summary["velocity_m_per_ns"])
