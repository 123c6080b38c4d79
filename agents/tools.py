"""Tools that agents reach through environment actions (``calculate <expr>``, ``python <code>``).

* `calculate(expression)` evaluates arithmetic by walking Python's `ast`: numbers,
  ``+ - * / // % **``, parentheses, unary signs and a few functions (``abs``,
  ``round``, ``min``, ``max``, ``sqrt``, ``floor``, ``ceil``). Names, attributes,
  subscripts, calls of anything else and huge powers are refused with a short
  error text; the input is never handed to `eval`. It returns text (the result,
  or ``"error: ..."``), never raises for bad input.
* `run_python(code)` runs a snippet in a separate ``python -I -S`` process, in a
  fresh temporary directory, with an empty environment, and returns its
  (truncated) stdout and stderr, the exit code and whether it timed out.

What actually contains `run_python` is the separate process and its resource
limits: address space (``memory_mb``), CPU seconds, size of files it writes
(stdout and stderr go to files, so runaway output is capped by the same limit)
and open files, plus a wall-clock timeout that kills the whole process group.
The limits are set by a small launcher inside the child before the user code
is compiled, not in ``preexec_fn``: ``preexec_fn`` is unsafe in a
multi-threaded parent (the graphs step teams in threads). The launcher also
disables the network: it replaces ``_socket.socket``, ``_socket.getaddrinfo``
and ``_socket.socketpair`` (what the ``socket`` module builds on, patched
before it is imported, which keeps start-up fast) by versions that raise
``PermissionError("network disabled")``, so ``socket.socket()``,
``socket.create_connection`` and ``socket.getaddrinfo`` (and urllib, http...)
fail. This is a best-effort guard against accidental network use, **not** a
security boundary (``ctypes`` or a fresh interpreter get around it); run
untrusted code only where the machine itself is isolated.
"""

from __future__ import annotations

import ast
import math
import operator
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

# -- calculate -----------------------------------------------------------------------------------

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 1000  # |b| in a ** b
MAX_BASE_FOR_BIG_EXPONENT = 10**6
MAX_INT_DIGITS = 4000  # results larger than this are refused (Python's own int-str limit is 4300)

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCS = {
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
    "min": (min, 1, 64),
    "max": (max, 1, 64),
    "sqrt": (math.sqrt, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
}


class CalculatorError(ValueError):
    """Bad input to `calculate` (the message is what the agent sees)."""


def _check_size(value: float) -> int | float:
    if isinstance(value, int) and abs(value) >= 10**MAX_INT_DIGITS:
        raise CalculatorError(f"result has more than {MAX_INT_DIGITS} digits")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("result is not a finite number")
    return value


def _eval(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculatorError(f"only numbers are allowed, not {node.value!r}")
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > MAX_EXPONENT:
                raise CalculatorError(f"exponent {right} is too large (limit {MAX_EXPONENT})")
            if abs(right) > 64 and abs(left) > MAX_BASE_FOR_BIG_EXPONENT:
                raise CalculatorError("power is too large")
        try:
            return _check_size(_BINOPS[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("result is too large") from None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            raise CalculatorError(f"only the functions {', '.join(sorted(_FUNCS))} may be called")
        if node.keywords:
            raise CalculatorError("keyword arguments are not allowed")
        fn, lo, hi = _FUNCS[node.func.id]
        if not lo <= len(node.args) <= hi:
            raise CalculatorError(f"{node.func.id} takes {lo}..{hi} arguments, got {len(node.args)}")
        args = [_eval(a) for a in node.args]
        if node.func.id == "round" and len(args) == 2 and not isinstance(args[1], int):
            raise CalculatorError("round's second argument must be a whole number")
        try:
            return _check_size(fn(*args))
        except (ValueError, OverflowError) as err:
            raise CalculatorError(f"{node.func.id}: {err}") from None
    if isinstance(node, ast.Name):
        raise CalculatorError(f"unknown name {node.id!r}: only numbers, operators and {', '.join(sorted(_FUNCS))}() are allowed")
    if isinstance(node, ast.Attribute):
        raise CalculatorError("attribute access is not allowed")
    raise CalculatorError(f"{type(node).__name__} is not allowed: use numbers, + - * / // % **, parentheses")


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression; `CalculatorError` (a ValueError) on anything else."""
    if not isinstance(expression, str):
        raise CalculatorError("the expression must be text")
    text = expression.strip().rstrip("=").strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise CalculatorError("empty expression")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as err:
        raise CalculatorError(f"not an arithmetic expression ({getattr(err, 'msg', err)})") from None
    except RecursionError:
        raise CalculatorError("expression is nested too deeply") from None
    try:
        return _eval(tree)
    except RecursionError:
        raise CalculatorError("expression is nested too deeply") from None


def format_number(value: float) -> str:
    """Integers as integers, floats without float noise (12 significant digits), whole floats as ints."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.12g}"
    return str(value)


def calculate(expression: str) -> str:
    """The result as text, or ``"error: <why>"`` (never raises for bad input)."""
    try:
        return format_number(evaluate(expression))
    except CalculatorError as err:
        return f"error: {err}"


# -- run_python ---------------------------------------------------------------------------------

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_MB = 256
DEFAULT_MAX_OUTPUT_CHARS = 4000
MAX_FILE_BYTES = 1 << 20  # RLIMIT_FSIZE: also caps stdout/stderr, which go to files
MAX_OPEN_FILES = 64
MAX_CODE_CHARS = 100_000

# Runs inside the child before the user's code: limits, the network guard, then the code.
_LAUNCHER = r"""
import resource, sys
def _limit(which, value):
    try:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass
_limit(resource.RLIMIT_AS, @MEMORY_BYTES@)
_limit(resource.RLIMIT_CPU, @CPU_S@)
_limit(resource.RLIMIT_FSIZE, @FSIZE@)
_limit(resource.RLIMIT_NOFILE, @NOFILE@)
_limit(resource.RLIMIT_CORE, 0)
import _socket as _s
def _no_network(*args, **kwargs):
    raise PermissionError("network disabled")
class _NoSocket(_s.socket):
    __slots__ = ()
    def __init__(self, *args, **kwargs):
        raise PermissionError("network disabled")
_s.socket = _NoSocket
_s.SocketType = _NoSocket
_s.getaddrinfo = _no_network
_s.socketpair = _no_network
del _s, _NoSocket, _no_network, _limit, resource
with open("main.py", encoding="utf-8") as _f:
    _src = _f.read()
del _f
sys.argv = ["main.py"]
_code = compile(_src, "main.py", "exec")
del _src
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class ToolResult:
    """What a `run_python` call produced (outputs truncated to the call's `max_output_chars`)."""

    stdout: str
    stderr: str
    returncode: int | None  # None: killed on timeout
    timed_out: bool
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def text(self) -> str:
        """One observation text: stdout, then stderr and the exit status when they say something."""
        parts = []
        if self.stdout.strip():
            parts.append(self.stdout.rstrip())
        if self.stderr.strip():
            parts.append("[stderr]\n" + self.stderr.rstrip())
        if self.timed_out:
            parts.append(f"[timed out after {self.wall_s:.1f}s; the process was killed]")
        elif self.returncode not in (0, None):
            parts.append(f"[exit code {self.returncode}]")
        return "\n".join(parts) if parts else "[no output]"


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [output truncated at {limit} characters]"


def _read(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(4 * limit + 4096)
            more = f.read(1)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if more:
        text += "\x00"  # makes _truncate report that there was more
    return _truncate(text, limit).replace("\x00", "")


def run_python(
    code: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
) -> ToolResult:
    """Run `code` in a fresh, limited Python process (see the module docstring); never raises for bad code."""
    if not isinstance(code, str):
        raise TypeError("code must be a str")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s: {timeout_s!r} must be > 0")
    if not isinstance(memory_mb, int) or memory_mb < 32:
        raise ValueError(f"memory_mb: {memory_mb!r} must be an integer >= 32")
    if len(code) > MAX_CODE_CHARS:
        return ToolResult("", f"code is longer than {MAX_CODE_CHARS} characters", 1, False)
    launcher = (
        _LAUNCHER.replace("@MEMORY_BYTES@", str(memory_mb * 1024 * 1024))
        .replace("@CPU_S@", str(max(1, math.ceil(timeout_s)) + 1))
        .replace("@FSIZE@", str(MAX_FILE_BYTES))
        .replace("@NOFILE@", str(MAX_OPEN_FILES))
    )
    workdir = tempfile.mkdtemp(prefix="teammind-py-")
    start = time.perf_counter()
    try:
        with open(os.path.join(workdir, "main.py"), "w", encoding="utf-8") as f:
            f.write(code)
        out_path, err_path = os.path.join(workdir, ".stdout"), os.path.join(workdir, ".stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", launcher],
                cwd=workdir,
                env={},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: a timeout kills whatever it started
                close_fds=True,
            )
            timed_out = False
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it left behind
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait()
        wall = time.perf_counter() - start
        code_ = None if timed_out else proc.returncode
        if code_ is not None and code_ < 0 and -code_ == signal.SIGXCPU:
            timed_out = True  # CPU limit: report it as the timeout it is
        return ToolResult(_read(out_path, max_output_chars), _read(err_path, max_output_chars), code_, timed_out, round(wall, 3))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["CalculatorError", "ToolResult", "calculate", "evaluate", "format_number", "run_python"]
