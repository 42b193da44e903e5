"""The small recorded run the report tests render (tests/data/small_run.json): a subset of the
rows of a real quick-profile run on a 2-core CPU, written by `ledger.write`. Recorded as schema
/2, it is given here the typed part of /3 the report reads (`params`, per-seed `accuracies` by
arm, `sizes`), the per-seed accuracy figures moving there as a run of /3 writes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from precision_kit import ledger

SMALL_RUN = Path(__file__).parent / "data" / "small_run.json"
# Figures of claims the recorded run has no case of: skipped, the reason naming the claim.
ABSENT_CLAIMS = {"000-bi6-convergence-by-depth": "BI-6", "003-ch7-accuracy-vs-epoch": "CH-7",
                 "003-ch9-dead-units-vs-lr": "CH-9", "003-ch11-time-per-sample": "CH-11"}
PNG = b"\x89PNG\r\n\x1a\n"
# Each recorded case's parameters, as a run of /3 records them in `params`.
PARAMS = {
    "CH-1[epochs=10]": {"epochs": 10},
    "CH-2[lr=0.01]": {"lr": 0.01},
    "CH-3[batch_size=1000]": {"batch_size": 1000},
    "BI-1[depth=2-amp-fp16]": {"depth": 2, "precision": "amp-fp16"},
    "BI-1[depth=2-amp-bf16]": {"depth": 2, "precision": "amp-bf16"},
    "BI-1[depth=8-amp-fp16]": {"depth": 8, "precision": "amp-fp16"},
    "BI-2[depth=2-torch.ao]": {"depth": 2, "backend": "torch.ao"},
    "BI-2[depth=8-torch.ao]": {"depth": 8, "backend": "torch.ao"},
    "BI-3[depth=2-torch.ao]": {"depth": 2, "backend": "torch.ao"},
    "BI-3[depth=2-torchao-dynamic]": {"depth": 2, "backend": "torchao-dynamic"},
    "BI-3[depth=8-torch.ao]": {"depth": 8, "backend": "torch.ao"},
    "BI-4[depth=8-adam]": {"depth": 8, "setup": "adam"},
    "BI-4[depth=8-sgd-short]": {"depth": 8, "setup": "sgd-short"},
    "BI-5[depth=2]": {"depth": 2},
    "SZ-1[precision=fp16]": {"precision": "fp16"},
    "SZ-2[precision=fp16]": {"precision": "fp16"},
    "SZ-4[norm-clip=0.01]": {"mode": "norm", "clip": 0.01},
    "SZ-4[value-clip=0.5]": {"mode": "value", "clip": 0.5},
    **{f"SZ-5[decimals={d}]": {"decimals": d} for d in (1, 2, 3, 4)},
    "TD-2[optimizer=sgd]": {"optimizer": "sgd"},
}
SINGLE_ARM = {"CH-1": "lr1e-3", "TD-1": "adam-dropout"}  # a /2 "accuracy" figure's arm


def _typed(row: dict) -> dict:
    """A /2 row as /3 records it: per-seed test accuracies out of `figures` into `accuracies`
    (each arm with one more seed, which diverged: None), `params` and `sizes` added."""
    figures, accuracies = dict(row["figures"]), {}
    for name in [n for n, v in figures.items()
                 if re.fullmatch(r"accuracy(_.+)?|(?!train_).+_accuracy", n) and isinstance(v, list)]:
        arm = SINGLE_ARM[row["claim"]] if name == "accuracy" else re.sub(r"^accuracy_|_accuracy$", "", name)
        accuracies[arm] = [*figures.pop(name), None]
    sizes = {}
    if row["claim"] == "BI-2":
        sizes = {f"{p}_serialized": figures[p]["serialized_bytes"] for p in ("fp32", "int8")}
    elif row["claim"] == "SZ-5":
        enc = figures["encoding"]
        sizes = {"fp32_serialized": enc[0]["fp32_serialized_bytes"],
                 **{f"packed_seed{e['seed']}": e["nbytes"] for e in enc}}
    return {**row, "params": PARAMS.get(f"{row['claim']}[{row['case']}]", {}), "accuracies": accuracies,
            "sizes": sizes, "figures": figures}


def typed_run(tmp_path_factory) -> Path:
    """The recorded run as a /3 ledger (as it is, once it is one); the modules' `typed_run` fixture."""
    doc = json.loads(SMALL_RUN.read_text(encoding="utf-8"))
    if doc["schema"] == ledger.SCHEMA:
        return SMALL_RUN
    path, _ = ledger.write([_typed(r) for r in doc["rows"]], tmp_path_factory.mktemp("typed"), doc["machine"],
                           name="small_run")
    return path
