import subprocess
import sys

from af_plugin.cli import main


def test_python_m_and_help():
    out = subprocess.run([sys.executable, "-m", "af_plugin", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "doctor" in out.stdout


def test_doctor_lists_each_item_with_a_fix(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for item in ("PyTorch", "MediaPipe", "audio devices", "cameras", "virtual camera", "Mono"):
        assert item in out
    # Every missing item carries a one-line fix.
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("--"):
            assert lines[i + 1].strip().startswith("fix:"), line
