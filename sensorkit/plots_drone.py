"""PNG plots of drone detection and scoring. Files only (Agg canvas, no pyplot), 8 x 5 in at 100 dpi like
sensorkit.plots.

    paths = plot_drone_result(result, out_dir, stem="rec")   # spectrogram, azimuth-time map, polar plot
    plot_pd_curves(report, "score/score_drones_pd.png")      # Pd against range and SNR

<stem>_spectrogram.png: channel-mean power (dB) with the detected fundamentals and their harmonics (tracked
detections in white, the others grey); <stem>_azimuth_time.png: detections (grey, size by SNR) and tracks
(coloured by id, confirmed solid); <stem>_polar.png: the tracks on a polar plot (azimuth counter-clockwise from +x,
radius 90 - elevation degrees: the zenith at the centre). Without direction only the spectrogram is drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorkit.plots import new_figure, save_png

__all__ = ["plot_azimuth_time", "plot_drone_result", "plot_pd_curves", "plot_polar", "plot_spectrogram"]


def _colour(i):
    import matplotlib

    return matplotlib.colormaps["tab10"](i % 10)


def plot_spectrogram(result, out, n_harmonics: int = 8) -> Path:
    """Spectrogram (dB) with each detection's fundamental and harmonics marked."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    s = result.spectrogram_db
    t = result.spectrogram_times_s
    f = result.spectrogram_freqs_hz
    if s.size:
        lo, hi = np.percentile(s, [5, 99.5])
        dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        df = float(f[1] - f[0]) if f.size > 1 else 1.0
        im = ax.imshow(s.T, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
                       extent=(t[0] - dt / 2, t[-1] + dt / 2, f[0] - df / 2, f[-1] + df / 2), interpolation="nearest")
        fig.colorbar(im, ax=ax, label="power (dB, channel mean)")
    d = result.detections
    top = float(f[-1]) if f.size else 4000.0
    for used, colour in ((False, "0.6"), (True, "white")):
        sel = d[d["used"] == used]
        for k in range(1, n_harmonics + 1):
            fk = k * sel["f0_hz"]
            keep = fk <= top
            ax.plot(sel["time_s"][keep], fk[keep], ls="none", marker=".", ms=2 if k > 1 else 3, color=colour,
                    alpha=0.8 if k == 1 else 0.4)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title("spectrogram with detected rotor fundamentals (white: tracked) and harmonics")
    return save_png(fig, out)


def plot_azimuth_time(result, out) -> Path:
    """Azimuth (degrees) against time: detections and tracks."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    d = result.detections
    ok = np.isfinite(d["azimuth_rad"])
    size = np.clip(2.0 + 0.5 * (d["snr_db"][ok] + 10.0), 1.0, 20.0)
    ax.scatter(d["time_s"][ok], np.mod(np.degrees(d["azimuth_rad"][ok]), 360.0), s=size, c="0.6",
               label="detections", linewidths=0)
    for i, t in enumerate(result.tracks):
        az = t.azimuth_deg()
        # break the line where the azimuth wraps
        jumps = np.flatnonzero(np.abs(np.diff(az)) > 180.0) + 1
        for j, (a, b) in enumerate(zip(np.r_[0, jumps], np.r_[jumps, az.size])):
            ax.plot(t.time_s[a:b], az[a:b], color=_colour(i), lw=2.0 if t.confirmed else 1.0,
                    ls="-" if t.confirmed else ":", label=f"track {t.track_id} ({t.state})" if j == 0 else None)
    ax.set_ylim(0, 360)
    ax.set_yticks(range(0, 361, 45))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("azimuth (deg, counter-clockwise from +x)")
    ax.set_title("azimuth-time map")
    if result.tracks:
        ax.legend(loc="upper right", fontsize=7)
    return save_png(fig, out)


def plot_polar(result, out) -> Path:
    """Tracks on a polar plot: angle = azimuth, radius = 90 - elevation (degrees)."""
    fig = new_figure((6.0, 6.0))
    ax = fig.add_subplot(1, 1, 1, projection="polar")
    for i, t in enumerate(result.tracks):
        ax.plot(t.azimuth_rad, 90.0 - t.elevation_deg(), color=_colour(i), lw=2.0 if t.confirmed else 1.0,
                marker=".", ms=3, label=f"track {t.track_id}")
        ax.plot([t.azimuth_rad[-1]], [90.0 - t.elevation_deg()[-1]], marker="o", color=_colour(i))
    ax.set_rlim(0, 90)
    ax.set_rticks([15, 30, 45, 60, 75, 90])
    ax.set_title("tracks (radius: 90 - elevation, deg; azimuth from +x)")
    if result.tracks:
        ax.legend(loc="lower right", fontsize=7)
    return save_png(fig, out)


def plot_drone_result(result, out_dir, stem: str = "drones") -> list[str]:
    """The three plots of a DroneResult into out_dir (only the spectrogram without direction); returns paths."""
    out_dir = Path(out_dir)
    paths = [plot_spectrogram(result, out_dir / f"{stem}_spectrogram.png")]
    if result.has_direction:
        paths.append(plot_azimuth_time(result, out_dir / f"{stem}_azimuth_time.png"))
        paths.append(plot_polar(result, out_dir / f"{stem}_polar.png"))
    return [str(p) for p in paths]


def plot_pd_curves(report: dict, out) -> Path:
    """Detection probability against range (left) and SNR (right) from a sensorkit.scoring.drones report."""
    fig = new_figure()
    for k, (key, label) in enumerate((("pd_by_range", "range (m)"), ("pd_by_snr", "SNR (dB)"))):
        ax = fig.add_subplot(1, 2, k + 1)
        bins = [b for b in report[key] if b["pd"] is not None]
        x = [(b["lo"] + b["hi"]) / 2 for b in bins]
        ax.plot(x, [b["pd"] for b in bins], marker="o")
        for xi, b in zip(x, bins):
            ax.annotate(str(b["windows"]), (xi, b["pd"]), xytext=(0, 5), textcoords="offset points", fontsize=7,
                        ha="center")
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel(label)
        ax.set_ylabel("detection probability")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Pd per {report['config']['window_s']:g} s window (tolerance {report['config']['tolerance_deg']:g}"
                 f" deg; numbers: windows)")
    return save_png(fig, out)
