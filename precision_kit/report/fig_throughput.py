"""Source 003's ("Chasing 99%") throughput figure: the time per sample vs batch size per
device (CH-11, its Version 8), from one run or a CPU run beside a GPU run."""

from __future__ import annotations

import statistics

from .rows import entry, figures, need, of, param
from .style import Plot, Skip, new_figure, plain_log_ticks

SRC = "003"


# ---------------------------------------------------------------- CH-11: time per sample vs batch size (Version 8)


def _seconds(values) -> dict[int, list[float]]:
    """{batch size: per-round seconds per sample} of one device's entry, non-numbers dropped."""
    out = {}
    for batch, secs in (values or {}).items():
        good = [s for s in secs or [] if isinstance(s, (int, float)) and s > 0]
        if str(batch).isdigit() and good:
            out[int(batch)] = good
    return dict(sorted(out.items()))


def _per_device(rows, other) -> tuple[dict[str, tuple[str, dict[int, list[float]], dict]],
                                      dict[str, tuple[str, dict[int, list[float]]]]]:
    """One line per device, {device: (label, {batch: seconds}, the row's figures)}: from a
    throughput row (this run's before the other run's), else from a gpu-vs-cpu row's data for
    that device; and {device: (label, {batch: seconds})} of the gpu-vs-cpu data of the devices
    whose line is a throughput row's (drawn as a second, dashed line)."""
    runs = (("", of(rows, "CH-11")), (" (other run)", of(other or [], "CH-11")))
    lines: dict[str, tuple[str, dict[int, list[float]], dict]] = {}
    for suffix, ch11 in runs:  # throughput rows: keyed by batch size, on the row's device
        for row in ch11:
            spp = figures(row).get("seconds_per_sample") or {}
            if param(row, "part") == "gpu-vs-cpu" or any(isinstance(v, dict) for v in spp.values()):
                continue
            secs = _seconds(spp)
            if secs and row["device"] not in lines:
                lines[row["device"]] = (f"{row['device']}{suffix}", secs, figures(row))
    extra: dict[str, tuple[str, dict[int, list[float]]]] = {}
    for suffix, ch11 in runs:  # gpu-vs-cpu rows: keyed by device, then batch size
        for row in ch11:
            for device, values in (figures(row).get("seconds_per_sample") or {}).items():
                secs = _seconds(values) if isinstance(values, dict) else {}
                label = f"{device}{suffix} (gpu-vs-cpu part)"
                if not secs or device in extra or (device in lines and not lines[device][2]):
                    continue  # no data, or this device's gpu-vs-cpu data is drawn already
                if device in lines:
                    extra[device] = (label, secs)
                else:
                    lines[device] = (label, secs, {})
    return lines, extra


def _gpu_vs_cpu_batch1(ch11) -> float | None:
    """Median CPU ÷ median GPU seconds per sample at batch 1 of the first gpu-vs-cpu row holding both."""
    for row in ch11:
        spp = figures(row).get("seconds_per_sample") or {}
        cpu, cuda = (_seconds(spp.get(d)) if isinstance(spp.get(d), dict) else {} for d in ("cpu", "cuda"))
        if cpu.get(1) and cuda.get(1):
            return statistics.median(cpu[1]) / statistics.median(cuda[1])
    return None


def time_per_sample(rows, other=None) -> Plot:
    need(rows, "CH-11")
    entry(of(rows, "CH-11"), "seconds_per_sample", "per-sample training times")
    lines, extra = _per_device(rows, other)
    if not lines:
        raise Skip("the CH-11 rows hold no per-sample seconds of any batch size")
    fig = new_figure(7.5, 4.6, title="Training time per sample vs batch size (2 × 50 MLP, Adam)",
                     source=f"{SRC} Version 8", claims=["CH-11"])
    ax = fig.subplots()
    batches: set[int] = set()
    ratios = []
    for k, (device, (label, secs, f)) in enumerate(sorted(lines.items())):
        color = f"C{k}"
        xs = list(secs)
        batches.update(xs)
        for b, s in secs.items():
            ax.scatter([b] * len(s), s, color=color, s=10, alpha=0.35)
        ax.plot(xs, [statistics.median(s) for s in secs.values()], color=color, lw=2, marker="o", label=label)
        if device in extra:
            more_label, more = extra[device]
            batches.update(more)
            ax.plot(list(more), [statistics.median(s) for s in more.values()], color=color, lw=1, ls="--",
                    marker="o", mfc="white", label=more_label)
        if 1 in secs and 50 in secs:
            ratio = statistics.median(secs[1]) / statistics.median(secs[50])
            bounds = f.get("ratio_1_vs_50")
            text = f"{label}: batch 1 ÷ batch 50 = {ratio:.1f}× (medians)"
            if isinstance(bounds, list) and len(bounds) == 3 and all(isinstance(b, (int, float)) for b in bounds):
                text += f", geometric mean of the rounds {bounds[0]:.1f}× [95% bounds {bounds[1]:.1f}, {bounds[2]:.1f}]"
            ratios.append(text)
        else:
            ratios.append(f"{label}: no batch 50 measured")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis, batches)
    ax.set(xlabel="batch size (log scale)", ylabel="seconds per training sample (log scale; line: median of rounds)")
    ax.legend(loc="upper right")
    gpu = _gpu_vs_cpu_batch1(of(rows, "CH-11"))
    target = next((f["target"] for _, _, f in lines.values() if isinstance(f.get("target"), (int, float))), 5.0)
    note = ("Dots: single timing rounds; lines: their median, one line per device (dashed, hollow: the same "
            "device's times in the gpu-vs-cpu part, rounds alternating CPU and GPU). The claim: batch 1 is terrible, "
            f"its per-sample time ≥ {target:g}× batch 50's. " + "; ".join(ratios) + ".")
    if gpu is not None:
        note += (" The GPU's advantage at batch 1 in the gpu-vs-cpu part (CPU ÷ GPU time per sample, medians): "
                 f"{gpu:.2f}×.")
    note += " Drawn from every device's rows (the other figures use one device's)."
    return Plot(fig, note)
