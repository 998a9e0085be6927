"""bench/fault_campaign.py keeps working: one trial of each family, with tiny counts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import fault_campaign


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for left-over workers")
def test_the_fault_campaign_runs_and_every_trial_survives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "trials.json"
    code = fault_campaign.main(
        [
            *("--kills", "1", "--notes", "20", "--protocol", "3", "--trickles", "0"),
            *("--hostile-only", "zero-byte", "--json", str(report)),
        ]
    )
    printed = capsys.readouterr().out
    trials = json.loads(report.read_text("utf-8"))
    assert [t["family"] for t in trials] == ["kill", "hostile", *["protocol"] * 3], printed
    assert code == 0, printed
    assert "kill      1/1" in printed and "protocol  3/3" in printed
