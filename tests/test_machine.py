"""What a run records about its machine, and how the gate tells CPU models apart by it:
the model name with the vendor, family and model numbers (`machine.cpu_id`, or py-cpuinfo's
fields in a run stored before it was recorded)."""

from __future__ import annotations

import copy

from gate_rows import row as _row

from precision_kit import gate, results
from precision_kit.machine import this_machine


def _machine(name: str, pk_id: str | None, cpuinfo: tuple | None) -> dict:
    """A run's machine info with the CPU named `name`, our CPU id `pk_id` (None: a run stored
    before it was recorded) and pytest-benchmark's py-cpuinfo (vendor, family, model)."""
    machine = copy.deepcopy(this_machine())
    machine["precision_kit"]["cpu_model"] = name
    machine["precision_kit"].pop("cpu_id", None)
    if pk_id is not None:
        machine["precision_kit"]["cpu_id"] = pk_id
    if cpuinfo is not None:
        vendor, family, model = cpuinfo
        machine["cpu"] = {"brand_raw": name, "vendor_id_raw": vendor, "family": family, "model": model}
    return machine


def test_two_cpus_that_share_a_model_name_but_not_a_microarchitecture_are_not_gated_on_timings():
    """A Zen 5 and a Zen 4 EPYC both read "AMD EPYC" under this workplace's hypervisor; the
    baseline (stored before our CPU id was recorded) says family 26 model 2 through
    py-cpuinfo, this run family 25 model 17: a 3x slowdown is reported, not gated. The same
    ids spelt the two ways are one CPU model, and the slowdown fails."""
    from precision_kit.timing import Timing

    fast = Timing((0.010, 0.010, 0.010), (0.010, 0.010, 0.010), "test reference")
    slow = Timing((0.030, 0.030, 0.030), (0.010, 0.010, 0.010), "test reference")
    base_rows = {results.key(r): r for r in [_row("BI-1", "depth=8-amp-bf16", {}, timing=fast)]}
    cur_rows = {results.key(r): r for r in [_row("BI-1", "depth=8-amp-bf16", {}, timing=slow)]}
    zen5_stored = _machine("AMD EPYC", None, ("AuthenticAMD", 26, 2))
    zen4 = _machine("AMD EPYC", "AuthenticAMD family 25 model 17", ("AuthenticAMD", 25, 17))
    zen5 = _machine("AMD EPYC", "AuthenticAMD family 26 model 2", None)

    report = gate.gate(results.Results("base", zen5_stored, base_rows), results.Results("cur", zen4, cur_rows))
    assert report.exit_code == gate.EXIT_OK, report.text()
    [note] = [f for f in report.findings if f.case == "*"]
    assert "family 26 model 2" in note.message and "family 25 model 17" in note.message
    assert "not gated" in note.message

    report = gate.gate(results.Results("base", zen5_stored, base_rows), results.Results("cur", zen5, cur_rows))
    assert report.exit_code == gate.EXIT_REGRESSION, report.text()
    assert [f.kind for f in report.regressions] == ["timing"]


def test_the_cpu_id_reads_vendor_family_and_model_and_says_none_when_one_is_missing():
    from precision_kit.machine import cpu_id, format_cpu_id

    assert format_cpu_id("GenuineIntel", 6, 143) == "GenuineIntel family 6 model 143"
    assert format_cpu_id("GenuineIntel", None, 143) is None
    here = cpu_id()
    assert here is None or (" family " in here and " model " in here)
