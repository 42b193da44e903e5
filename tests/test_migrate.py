"""`precision-kit migrate`: a results file of schema /2 becomes /3 with the typed fields the
/2 gate would have read, validated before it replaces anything."""

from __future__ import annotations

import json

import pytest
from gate_rows import row as _row

from precision_kit import gate, ledger, results
from precision_kit.cli import main
from precision_kit.machine import this_machine
from precision_kit.migrate import migrate_row


def _v2_row() -> dict:
    r = _row("BI-3", "depth=2-torch.ao", {"fp32_accuracy": [97.0, 97.2], "int8_accuracy": [96.9, 97.1],
                                          "train_accuracy": [99.0, 99.1], "int8": {"serialized_bytes": 1234},
                                          "peak_memory_bytes": 99})
    for name in ("params", "accuracies", "sizes"):
        del r[name]
    return r


def test_a_v2_row_gets_the_typed_fields_the_v2_gate_read():
    new = migrate_row(_v2_row())
    assert new["params"] == {"depth": 2, "backend": "torch.ao"}
    assert new["accuracies"] == {"fp32": [97.0, 97.2], "int8": [96.9, 97.1]}  # not train_accuracy
    assert new["sizes"] == {"int8_serialized": 1234}  # not peak memory


def test_migrate_a_ledger_in_place_then_gate_it(tmp_path, capsys):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": "precision_kit.ledger/2", "machine": this_machine(), "rows": [_v2_row()]}))
    with pytest.raises(results.ResultsError, match="precision-kit migrate"):
        results.load(path)
    assert main(["migrate", str(path)]) == 0
    run = results.load(path)
    assert json.loads(path.read_text())["schema"] == ledger.SCHEMA
    assert gate.gate(run, run).exit_code == gate.EXIT_OK
    assert main(["migrate", str(path)]) == gate.EXIT_INFRA  # already /3
    assert "nothing to migrate" in capsys.readouterr().err


def test_a_schema_it_cannot_migrate_leaves_the_file_as_it_was(tmp_path, capsys):
    path = tmp_path / "older.json"
    text = json.dumps({"schema": "precision_kit.ledger/1", "machine": {}, "rows": [_v2_row()]})
    path.write_text(text)
    assert main(["migrate", str(path), "--out", str(tmp_path / "new.json")]) == gate.EXIT_INFRA
    assert "cannot be migrated" in capsys.readouterr().err
    assert path.read_text() == text and not (tmp_path / "new.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["older.json"]
