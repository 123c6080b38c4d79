"""The tools agents reach through environment actions: the safe calculator and the sandboxed python runner."""

from __future__ import annotations

import pytest

from teammind.agents.tools import calculate, evaluate, run_python


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("( 56 + -33 ) - 84", "-61"), ("57 + 87 + 70 =", "214"), ("10 / 4", "2.5"), ("2 ** 10", "1024"), ("-1515 / 5 + 3", "-300"),
     ("7 // 2 + 7 % 2", "4"), ("sqrt(16) + abs(-2) + max(1, 5)", "11"), ("round(2.567, 2)", "2.57")],
)
def test_calculate_evaluates_arithmetic(expression, expected):
    assert calculate(expression) == expected


@pytest.mark.parametrize("expression", ["x + 1", "__import__('os')", "(1).real", "open('f')", "[1, 2][0]", "'a' * 3", "lambda: 1"])
def test_calculate_rejects_names_attributes_and_non_numbers(expression):
    out = calculate(expression)
    assert out.startswith("error: ")
    with pytest.raises(ValueError):
        evaluate(expression)


def test_calculate_bounds_exponents_and_reports_division_by_zero():
    assert "too large" in calculate("9 ** 9 ** 9")
    assert "too large" in calculate("2 ** 100000")
    assert calculate("1 / 0") == "error: division by zero"
    assert calculate("") == "error: empty expression"


def test_run_python_returns_stdout_and_exit_code():
    result = run_python("print(6 * 7)")
    assert (result.stdout, result.returncode, result.timed_out) == ("42\n", 0, False)
    assert result.text() == "42"


def test_run_python_reports_errors_on_stderr():
    result = run_python("raise ValueError('boom')")
    assert result.returncode == 1 and "ValueError: boom" in result.stderr and "[exit code 1]" in result.text()


def test_run_python_timeout_kills_the_process():
    result = run_python("import time\nwhile True:\n    time.sleep(0.05)", timeout_s=1.0)
    assert result.timed_out and result.returncode is None
    assert result.wall_s < 4.0 and "timed out" in result.text()


def test_run_python_memory_limit_stops_big_allocations():
    result = run_python("x = bytearray(600 * 1024 * 1024)\nprint('allocated')", memory_mb=128)
    assert "allocated" not in result.stdout and "MemoryError" in result.stderr


@pytest.mark.parametrize(
    "code",
    ["import socket\nsocket.create_connection(('127.0.0.1', 9))", "import socket\nsocket.socket()", "import socket\nsocket.getaddrinfo('localhost', 80)"],
)
def test_run_python_blocks_the_network(code):
    result = run_python(code)
    assert result.returncode == 1 and "PermissionError: network disabled" in result.stderr


def test_run_python_truncates_long_output():
    result = run_python("print('x' * 50000)", max_output_chars=1000)
    assert len(result.stdout) < 1100 and "output truncated at 1000 characters" in result.stdout


def test_run_python_runs_in_a_fresh_directory_with_an_empty_environment():
    result = run_python("import os\nprint(sorted(k for k in os.environ if k != 'LC_CTYPE'))\nprint(os.listdir('.'))")
    env_line, files_line = result.stdout.splitlines()
    assert env_line == "[]" and "main.py" in files_line
