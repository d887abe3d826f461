"""The machine description every recorded time carries."""

import os

from tfgan_replica import machine

CPUINFO = """processor\t: 0
model name\t: Example CPU 9000 @ 2.00GHz
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512_bf16
"""


def test_the_cpu_and_its_speed_flags_are_read_from_cpuinfo(tmp_path, monkeypatch):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "cpuinfo")
    assert machine.cpu_model() == "Example CPU 9000 @ 2.00GHz"
    assert machine.cpu_speed_flags() == ["avx2", "avx512f", "avx512_bf16"]  # no AMX
    assert machine.summary_line() == (f"CPU: Example CPU 9000 @ 2.00GHz (avx2, avx512f, "
                                      f"avx512_bf16); {os.cpu_count()} cores")
    description = machine.description()
    assert description["cpu"] == "Example CPU 9000 @ 2.00GHz"
    assert description["cpus"] == os.cpu_count()


def test_a_machine_without_cpuinfo_is_still_named(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "missing")
    assert machine.cpu_model()  # the platform's word for it
    assert machine.cpu_speed_flags() == []
    assert "none of avx2" in machine.summary_line()
