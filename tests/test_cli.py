"""Tests of the ``psipo-exact`` command line as a user meets it: --help, --version, Ctrl-C,
a closed pipe, ``check`` printing as it goes and ``--only``.

Exit statuses and what reaches stderr are checked in real subprocesses; Ctrl-C is a real
SIGINT sent to a process that is provably inside ``main`` (it has printed a line and is
blocked in a check), and the broken pipe is a reader that closes the pipe before the
command writes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import psipo_exact
from psipo_exact.cli import main

CLI = [sys.executable, "-m", "psipo_exact.cli"]

#: A child that runs ``main(argv)`` with an extra check, "waits", which blocks until the file
#: named by argv[1] exists, so the parent knows exactly when the child is inside a check.
WAITING_CHILD = textwrap.dedent("""
    import pathlib, signal, sys, time
    from psipo_exact import cli, symbolic

    # As in a terminal: a child of a background job (`cmd &` in a script) starts with SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def waits():
        flag = pathlib.Path(sys.argv[1])
        while not flag.exists():
            time.sleep(0.02)
        return symbolic.Check("blocks until told", "test", True, "", 0.0)

    symbolic.CHECKS["waits"] = waits
    sys.exit(cli.main(["check", "--only", "eq17", "--only", "waits"]))
""")


def test_version_is_the_package_version():
    proc = subprocess.run([*CLI, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() == f"psipo-exact {psipo_exact.__version__}"


def test_top_level_help_speaks_to_users():
    proc = subprocess.run([*CLI, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    text = proc.stdout
    assert text.splitlines()[2].startswith("Exact answers for preference learning")
    for word in ("reproduce", "check", "solve", "examples:", "--version", "arXiv:2310.12036"):
        assert word in text
    assert "thin wrappers" not in text and "For developers" not in text


def test_no_command_is_a_one_line_usage_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "required" in err


def test_check_only_runs_the_named_checks(capsys):
    assert main(["check", "--only", "eq17", "--only", "section531"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("yes") and "Eq. 17" in lines[0]
    assert lines[1].startswith("yes") and "5.3.1" in lines[1]
    assert lines[2].startswith("2/2 claims hold")


def test_check_only_unknown_name_lists_the_valid_ones(capsys):
    from psipo_exact.symbolic import CHECKS

    assert main(["check", "--only", "eq17", "--only", "prop3"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "'prop3' is not a check" in err and all(name in err for name in CHECKS)


def test_check_list_prints_the_names(capsys):
    from psipo_exact.symbolic import CHECKS

    assert main(["check", "--list"]) == 0
    assert capsys.readouterr().out.split() == list(CHECKS)


def test_check_reports_a_failing_claim_with_status_1(capsys, monkeypatch):
    from psipo_exact import symbolic

    monkeypatch.setitem(symbolic.CHECKS, "wrong", lambda: symbolic.check_eq17(target_factor=1))
    assert main(["check", "--only", "wrong"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("NO") and "0/1 claims hold" in out


def _waiting_child(tmp_path):
    flag = tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", WAITING_CHILD, str(flag)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Safety net: a child that never prints would block readline() forever.
    timer = threading.Timer(120, flag.touch)
    timer.start()
    return proc, flag, timer


def test_check_prints_each_line_as_it_finishes_into_a_pipe(tmp_path):
    proc, flag, timer = _waiting_child(tmp_path)
    try:
        first = proc.stdout.readline()
        released_early = flag.exists()          # the line came while "waits" still blocked
        flag.touch()
        rest, err = proc.communicate(timeout=120)
    finally:
        timer.cancel()
    assert not released_early, "the first check's line only appeared when the run ended"
    assert first.startswith("yes") and "Eq. 17" in first
    assert proc.returncode == 0 and err == "" and "2/2 claims hold" in rest


def test_ctrl_c_exits_130_with_one_line_and_no_traceback(tmp_path):
    proc, flag, timer = _waiting_child(tmp_path)
    try:
        first = proc.stdout.readline()          # the child is inside main, in "waits"
        assert first.startswith("yes")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        timer.cancel()
    assert proc.returncode == 130
    assert err == "psipo-exact: interrupted\n"
    assert "Traceback" not in out + err


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"prefs": [[0.5, 0.7], [0.3, 0.5]], "mu": [0.5, 0.5],
                                "pi_ref": [0.5, 0.5]}), encoding="utf-8")
    return path


def _console_script() -> list[str]:
    script = Path(sys.executable).parent / "psipo-exact"
    return [str(script)] if script.exists() else CLI


@pytest.mark.parametrize("command", [CLI, _console_script()], ids=["module", "script"])
def test_closed_pipe_is_silent(model_file, command):
    """``psipo-exact solve ... | head``: the reader is gone before the command writes."""
    proc = subprocess.Popen([*command, "solve", str(model_file), "--loss", "ipo", "--tau",
                             "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == ""
    assert proc.returncode == 141


def test_pipe_into_head_prints_no_broken_pipe(model_file):
    cmd = f"{' '.join(_console_script())} solve {model_file} --loss dpo --tau 1 | head -n 1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "{" and proc.stderr == ""


ROOT = Path(__file__).resolve().parents[1]


def test_make_reproduce_installs_the_package_without_the_test_extra():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\nreproduce:", 1)[1].splitlines()[0].split()
    assert target == ["$(BASE_STAMP)"]
    recipe = makefile.split("\n$(BASE_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert 'pip install -e .\n' in recipe + "\n" and "[test]" not in recipe


def test_license_metadata_is_an_spdx_string_for_a_setuptools_that_reads_it():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["license"] == "Apache-2.0"              # not a {text = ...} table
    assert "setuptools>=77" in meta["build-system"]["requires"]    # SPDX strings: setuptools 77+
    assert "jupyterlab>=4.0" in meta["project"]["optional-dependencies"]["notebooks"]
