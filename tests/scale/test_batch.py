"""sensorkit.scale and `sensorkit batch`: a 2-worker LocalCluster on loopback against the sequential run.

One cluster for the module (start_local_cluster(2): processes, one thread each, 127.0.0.1, no dashboard),
closed at the end with its worker processes checked gone. Workloads are tiny: 3 recordings of 3 lines x 21
traces x 64 samples, a 25 x 19 x 64 cube.
"""

import json
import os
import sys

import cloudpickle
import h5py
import numpy as np
import psutil
import pytest

from sensorkit.formats.base import Imported
from sensorkit.kernels.kirchhoff import kirchhoff_migrate_3d
from sensorkit.scale.batch import REPORT_NAME, run_batch, start_local_cluster
from sensorkit.scale.jobs import JobUnavailable, resolve_job
from sensorkit.scale.tiling import H5Dataset, _migrate_tile, halo_cells, migrate_tiled, plan_tiles
from sensorkit.store import RecordingWriter, write_imported
from sensorkit.synth.gpr import Antenna, GprScene, Scatterer, simulate_line
from sensorkit.synth.soil import Soil

distributed = pytest.importorskip("distributed")

# functions of this module that run on the workers (client.run) travel by value: the workers cannot import it
cloudpickle.register_pickle_by_value(sys.modules[__name__])

DT_S = 0.1e-9
N_SAMPLES = 64
X_M = np.round(np.arange(0.0, 0.4001, 0.02), 6)  # 21 traces a line
N_LINES = 3
LINE_SPACING_M = 0.05
MIGRATE_CONFIG = {"velocity": 0.0999, "time_zero": 0, "aperture": 0.1}


def _write_recording(path, target_x_m: float, seed: int):
    scene = GprScene(soil=Soil(eps_r=9.0), scatterers=[Scatterer(target_x_m, 0.05, 0.12, kind="point", amplitude=1.0)],
                     antenna=Antenna(centre_frequency_hz=1.0e9), surface_reflection=False, noise_rms=0.01)
    imported = Imported(source=path, format="synthetic")
    for n in range(N_LINES):
        line, _ = simulate_line(scene, X_M, N_SAMPLES, DT_S, y_m=n * LINE_SPACING_M, seed=seed + n, name=f"line{n}")
        imported.gpr.append(line)
    with RecordingWriter(path, overwrite=True) as writer:
        write_imported(writer, imported)
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Three good recordings and one corrupt file (random bytes named .h5), in that order."""
    folder = tmp_path_factory.mktemp("recordings")
    good = [_write_recording(folder / f"rec{k}.h5", 0.15 + 0.05 * k, 10 * k) for k in range(3)]
    corrupt = folder / "corrupt.h5"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return good, corrupt


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster(2 workers) for the module; its worker processes are gone after it closes."""
    cluster = start_local_cluster(2)
    client = distributed.Client(cluster, set_as_default=False)
    pids = list(client.run(os.getpid).values())
    yield cluster, client
    client.close()
    cluster.close()
    assert len(pids) == 2
    for pid in pids:
        if psutil.pid_exists(pid):
            try:
                psutil.Process(pid).wait(timeout=10)
            except psutil.NoSuchProcess:
                pass
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _images(report):
    out = {}
    for result in report.results:
        if result.status == "ok":
            with h5py.File(result.summary["out"], "r") as f:
                out[os.path.basename(result.path)] = f["image"][()]
    return out


def _without_run_details(summary):
    return {k: v for k, v in summary.items() if k not in ("out", "times_s")}


# --------------------------------------------------------------------------------------------- run_batch

def test_migrate_on_two_workers_equals_the_sequential_run_and_reports_the_corrupt_file(recordings, cluster,
                                                                                        tmp_path):
    (good, corrupt), (local, client) = recordings, cluster
    paths = [good[0], corrupt, good[1], good[2]]
    sequential = run_batch("migrate", paths, out_dir=tmp_path / "seq", n_workers=0, config=MIGRATE_CONFIG,
                           progress=False)
    parallel = run_batch("migrate", paths, out_dir=tmp_path / "dask", scheduler=local.scheduler_address,
                         config=MIGRATE_CONFIG, progress=False)

    assert [r.status for r in parallel.results] == ["ok", "failed", "ok", "ok"]
    assert [r.status for r in sequential.results] == ["ok", "failed", "ok", "ok"]
    assert (parallel.n_ok, parallel.n_failed, parallel.ok) == (3, 1, False)
    assert parallel.n_workers == 2 and parallel.scheduler == local.scheduler_address
    # the corrupt file: its own error, the same as in the sequential run, naming the file
    bad = parallel.results[1]
    assert bad.error == sequential.results[1].error
    assert bad.error.startswith("FormatError: ") and str(corrupt) in bad.error and "expected an HDF5 file" in bad.error
    assert "Traceback" in bad.traceback and bad.summary is None
    # the tasks ran in the worker processes, the sequential ones here
    worker_pids = set(client.run(os.getpid).values())
    assert {int(r.worker.rsplit(":", 1)[1]) for r in parallel.results} <= worker_pids
    assert {int(r.worker.rsplit(":", 1)[1]) for r in sequential.results} == {os.getpid()}

    # the images: bit for bit those of the sequential run, 3D (21, 3, nz), the scatterer focused where it is
    seq_images, dask_images = _images(sequential), _images(parallel)
    assert sorted(dask_images) == ["rec0.h5", "rec1.h5", "rec2.h5"]
    for name, image in dask_images.items():
        assert image.dtype == np.float32 and image.shape == (21, N_LINES, N_SAMPLES)
        assert np.array_equal(image, seq_images[name]), name
    peaks_x = [X_M[np.unravel_index(np.argmax(np.abs(dask_images[f"rec{k}.h5"])), (21, N_LINES, N_SAMPLES))[0]]
               for k in range(3)]
    np.testing.assert_allclose(peaks_x, [0.15, 0.20, 0.25], atol=0.02 + 1e-9)
    for s, d in zip(sequential.results, parallel.results):
        if s.status == "ok":
            assert _without_run_details(d.summary) == _without_run_details(s.summary)
            assert d.summary["out"] == str(tmp_path / "dask" / (os.path.basename(d.path)[:-3] + ".image.h5"))
            assert d.summary["shape"] == [21, N_LINES, N_SAMPLES] and d.summary["velocity_m_per_ns"] == 0.0999

    # the report, as JSON in out_dir
    saved = json.loads((tmp_path / "dask" / REPORT_NAME).read_text())
    assert (saved["n_files"], saved["n_ok"], saved["n_failed"]) == (4, 3, 1)
    assert [r["status"] for r in saved["results"]] == ["ok", "failed", "ok", "ok"]
    assert saved["results"][1]["error"] == bad.error
    assert saved["config"] == MIGRATE_CONFIG and saved["job"] == "migrate"
    assert all(r["wall_s"] > 0 for r in saved["results"])


def test_the_warm_up_compiles_the_kernels_once_on_every_worker(recordings, cluster, tmp_path):
    local, client = cluster
    good, _ = recordings
    for n in range(2):
        report = run_batch("migrate", good[:1], out_dir=tmp_path / f"run{n}", scheduler=local.scheduler_address,
                           config=MIGRATE_CONFIG, progress=False)
        assert report.ok

    def kernel_state():
        from sensorkit.kernels import kirchhoff

        import numba

        return (len(kirchhoff._stack.signatures), len(kirchhoff._time_major_rows.signatures),
                numba.config.NUMBA_NUM_THREADS)

    def plugins(dask_worker):
        return sorted(dask_worker.plugins)

    # both workers warmed up (one of them ran no task), one compiled signature each after two batches
    expected_threads = max(1, len(os.sched_getaffinity(0)) // 2)  # 2 processes share the cores
    assert list(client.run(kernel_state).values()) == [(1, 1, expected_threads)] * 2
    for names in client.run(plugins).values():
        assert "sensorkit-warm-up:sensorkit.scale.jobs:migrate_job" in names


def test_without_a_scheduler_run_batch_starts_and_closes_its_own_local_cluster(recordings, tmp_path):
    good, _ = recordings
    report = run_batch("info", good[:2], out_dir=tmp_path, n_workers=2, progress=False)
    assert report.ok and report.n_ok == 2
    assert report.scheduler == "LocalCluster(2 workers, 127.0.0.1)" and report.n_workers == 2
    pids = {int(r.worker.rsplit(":", 1)[1]) for r in report.results}
    assert os.getpid() not in pids
    for pid in pids:  # the worker processes are gone once run_batch returns
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_info_on_two_workers_equals_the_sequential_summaries(recordings, cluster, tmp_path):
    from sensorkit.info import summarize

    (good, corrupt), (local, _) = recordings, cluster
    report = run_batch("info", [*good, corrupt], out_dir=tmp_path, scheduler=local.scheduler_address,
                       progress=False)
    assert [r.status for r in report.results] == ["ok", "ok", "ok", "failed"]
    for path, result in zip(good, report.results):
        expected = summarize(path)
        assert {k: v for k, v in result.summary.items() if k != "out"} == expected
        assert result.summary["gpr"]["line0"]["n_traces"] == 21
        assert json.loads((tmp_path / f"{path.stem}.info.json").read_text()) == expected


def test_bad_arguments_are_refused_before_any_work(recordings, tmp_path):
    good, _ = recordings
    with pytest.raises(ValueError, match="two inputs named 'rec0'"):
        run_batch("info", [good[0], tmp_path / "rec0.h5"], out_dir=tmp_path, n_workers=0)
    with pytest.raises(ValueError, match="needs a velocity"):
        run_batch("migrate", good, out_dir=tmp_path, n_workers=0, config={"time_zero": 0})
    with pytest.raises(ValueError, match="unrecognized arguments: --velocty"):
        run_batch("migrate", good, out_dir=tmp_path, n_workers=0, config={"velocty": 0.1})
    with pytest.raises(ValueError, match="expected one of"):
        run_batch("detect-landmines", good, out_dir=tmp_path, n_workers=0)
    with pytest.raises(ValueError, match="n_workers"):
        run_batch("info", good, out_dir=tmp_path, n_workers=-1)
    assert not (tmp_path / REPORT_NAME).exists()


def test_detect_mines_on_two_workers_equals_the_sequential_run(recordings, cluster, tmp_path):
    """The landmine pipeline as a batch job: the same detections from the workers as in this process, the
    inputs left untouched (no results written into them), the corrupt file reported."""
    (good, corrupt), (local, _) = recordings, cluster
    paths = [good[0], corrupt, good[1]]
    config = {"velocity": 0.0999}
    before = [p.stat().st_mtime_ns for p in good[:2]]
    sequential = run_batch("detect-mines", paths, out_dir=tmp_path / "seq", n_workers=0, config=config,
                           progress=False)
    parallel = run_batch("detect-mines", paths, out_dir=tmp_path / "dask", scheduler=local.scheduler_address,
                         config=config, progress=False)
    assert [r.status for r in parallel.results] == ["ok", "failed", "ok"] == [r.status for r in sequential.results]
    assert [p.stat().st_mtime_ns for p in good[:2]] == before
    for s, d in zip(sequential.results, parallel.results):
        if s.status != "ok":
            continue
        assert d.summary["results"] is None and d.summary["velocity_m_per_ns"] == 0.0999
        assert d.summary["n_detections"] >= 1 and dask_geojson_count(d) >= 1
        assert d.summary["alarms"] == s.summary["alarms"] and d.summary["n_detections"] == s.summary["n_detections"]
        seq_geojson = json.loads((tmp_path / "seq" / (os.path.basename(s.path)[:-3] + ".mines.geojson")).read_text())
        dask_geojson = json.loads(open(d.summary["out"]).read())
        assert dask_geojson["features"] == seq_geojson["features"]
    assert parallel.results[1].error.startswith("FormatError: ")


def dask_geojson_count(result) -> int:
    return len(json.loads(open(result.summary["out"]).read())["features"])


def test_a_job_whose_module_is_missing_is_reported_in_one_line():
    with pytest.raises(JobUnavailable) as missing:
        resolve_job("sensorkit.pipelines.no_such_pipeline:batch_job")
    assert str(missing.value) == ("job 'sensorkit.pipelines.no_such_pipeline:batch_job': module "
                                  "sensorkit.pipelines.no_such_pipeline is not available in this installation "
                                  "(the job runs sensorkit.pipelines.no_such_pipeline:batch_job)")
    with pytest.raises(JobUnavailable, match="sensorkit.info has no function no_such_job"):
        resolve_job("sensorkit.info:no_such_job")
    assert "\n" not in str(missing.value)


# ------------------------------------------------------------------------------------------------ tiling

def test_plan_tiles_covers_the_grid_once_with_clipped_halos():
    tiles = plan_tiles(25, 19, 8, 6, 5, 4)
    assert len(tiles) == 4 * 4
    cover = np.zeros((25, 19), int)
    for t in tiles:
        cover[t.x0:t.x1, t.y0:t.y1] += 1
        assert (t.wx0, t.wx1) == (max(0, t.x0 - 5), min(25, t.x1 + 5))
        assert (t.wy0, t.wy1) == (max(0, t.y0 - 4), min(19, t.y1 + 4))
    assert np.all(cover == 1)
    assert tiles[5] == plan_tiles(25, 19, 8, 6, 5, 4)[5]
    t = tiles[5]  # the second row of x, second of y: interior [8, 16) x [6, 12), window [3, 21) x [2, 16)
    assert (t.x0, t.x1, t.y0, t.y1, t.wx0, t.wx1, t.wy0, t.wy1) == (8, 16, 6, 12, 3, 21, 2, 16)
    assert t.interior_in_window == (slice(5, 13), slice(4, 10))
    assert halo_cells(0.1, 0.02) == 5 and halo_cells(0.1, 0.03) == 4 and halo_cells(0.07, 0.02) == 4
    with pytest.raises(ValueError, match="tile_nx"):
        plan_tiles(25, 19, 0, 6, 5, 4)


CUBE_SHAPE = (25, 19, 64)
DEPTH_M = np.arange(0.0, 0.3, 0.005)


def _cube():
    return np.random.default_rng(7).standard_normal(CUBE_SHAPE).astype(np.float32)


def test_tiled_migration_equals_the_single_process_one_bit_for_bit(cluster):
    _, client = cluster
    cube = _cube()
    kw = dict(dt_s=DT_S, dx_m=0.02, dy_m=0.03, depth_m=DEPTH_M, velocity_mps=1.0e8, aperture_m=0.1)
    single = kirchhoff_migrate_3d(cube, **kw)
    tiled = migrate_tiled(cube, tile_nx=8, tile_ny=6, client=client, **kw)
    assert tiled.dtype == np.float32 and tiled.shape == (25, 19, DEPTH_M.size)
    assert np.array_equal(tiled, single)
    assert np.abs(single).max() > 1.0  # a real image, not zeros
    # without the halo the tiles' edges miss traces: the comparison above can fail
    no_halo = np.zeros_like(single)
    for t in plan_tiles(25, 19, 8, 6, 0, 0):
        no_halo[t.x0:t.x1, t.y0:t.y1] = _migrate_tile(np.ascontiguousarray(cube[t.wx0:t.wx1, t.wy0:t.wy1]), t, kw)
    assert np.abs(no_halo - single).max() > 0.02 * np.abs(single).max()  # 7 % of the peak here


def test_tiled_migration_from_an_hdf5_cube_into_an_hdf5_image(cluster, tmp_path):
    """Square cells (dx = dy: the kernel merges offset classes), an antenna above the ground with refraction,
    a halo of ceil(0.07 / 0.02) = 4 cells; the workers read their windows from the file by path."""
    _, client = cluster
    cube = _cube()
    with h5py.File(tmp_path / "cube.h5", "w") as f:
        f.create_dataset("survey/traces", data=cube, chunks=(8, 8, 64))
    kw = dict(dt_s=DT_S, dx_m=0.02, dy_m=0.02, depth_m=DEPTH_M, velocity_mps=1.0e8, aperture_m=0.07, height_m=0.05)
    single = kirchhoff_migrate_3d(cube, **kw)
    with h5py.File(tmp_path / "image.h5", "w") as f:
        out = f.create_dataset("image", shape=single.shape, dtype=np.float32)
        returned = migrate_tiled(H5Dataset(str(tmp_path / "cube.h5"), "survey/traces"), tile_nx=10, tile_ny=7,
                                 client=client, out=out, **kw)
        assert returned is out
    with h5py.File(tmp_path / "image.h5", "r") as f:
        assert np.array_equal(f["image"][()], single)


# -------------------------------------------------------------------------------------------------- CLI

def _main(argv):
    """`sensorkit ARGV` as the command line runs it: sensorkit.cli.main.main once batch is registered there,
    until then a parser with batch added and main's error handling (errors -> one line, exit 2)."""
    from sensorkit.cli import batch_cmd
    from sensorkit.cli import main as cli

    if batch_cmd in cli.COMMANDS:
        return cli.main(argv)
    parser = cli.build_parser()
    batch_cmd.add_parser(next(a for a in parser._actions if a.dest == "command"))
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (cli.SensorkitError, FileExistsError, FileNotFoundError, KeyError, ValueError) as error:
        print(f"sensorkit {args.command}: error: {error}", file=sys.stderr)
        return 2


def test_cli_exit_codes(recordings, cluster, tmp_path, capsys):
    (good, corrupt), (local, _) = recordings, cluster
    common = ["--scheduler", local.scheduler_address, "--no-progress"]

    assert _main(["batch", "info", *map(str, good), "--out", str(tmp_path / "a"), *common, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["n_files"], report["n_ok"], report["n_failed"]) == (3, 3, 0)

    config = tmp_path / "migrate.json"  # --config takes a JSON file as well as JSON text
    config.write_text(json.dumps(MIGRATE_CONFIG))
    code = _main(["batch", "migrate", str(good[0]), str(corrupt), "--out", str(tmp_path / "b"), "--config",
                  str(config), *common])
    captured = capsys.readouterr()
    assert code == 1
    assert f"sensorkit batch: failed: {corrupt}: FormatError: {corrupt}: file: expected an HDF5 file" in captured.err
    assert captured.out.startswith("migrate: 2 file(s), 1 ok, 1 failed in ")
    assert (tmp_path / "b" / "rec0.image.h5").is_file()
    assert json.loads((tmp_path / "b" / REPORT_NAME).read_text())["config"] == MIGRATE_CONFIG

    for argv, message in [
        (["batch", "detect", "landmines", str(good[0])], "expected 'detect mines' or 'detect drones'"),
        (["batch", "survey", str(good[0])], "JOB: expected one of"),
        (["batch", "info"], "FILES: expected at least one input file"),
        (["batch", "migrate", str(good[0]), "--config", "[0.1]"], "--config: expected a JSON object"),
        (["batch", "migrate", str(good[0]), "--config", '{"velocity": 0.1, "out": "x"}'], "'out' is set by the"),
        (["batch", "info", str(good[0]), "--scheduler", "127.0.0.1:8786"], "expected an address like tcp://"),
    ]:
        assert _main([*argv, "--out", str(tmp_path / "c")]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    with pytest.raises(SystemExit) as usage:  # --scheduler and --workers exclude each other (argparse)
        _main(["batch", "info", str(good[0]), "--out", str(tmp_path / "c"), "--workers", "2", "--scheduler",
               local.scheduler_address])
    assert usage.value.code == 2
    assert not (tmp_path / "c" / REPORT_NAME).exists()
