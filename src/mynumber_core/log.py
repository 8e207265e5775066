"""structlog configuration: configured once per process, JSON in containers, pretty on a TTY.

Per-call context (method, request id, caller) is bound with :mod:`structlog.contextvars` by the
call interceptor; the current OpenTelemetry trace and span ids are added to every line logged
inside a span (``trace_id``, ``span_id``), so a line leads to its trace.

Every line goes through one pipeline, whoever logs it: structlog loggers directly, and the
standard library's loggers (uvicorn, SQLAlchemy, Alembic, grpc, …) through a
:class:`structlog.stdlib.ProcessorFormatter` on the root logger, so in JSON mode every line is a
JSON object. The last processors before rendering format the exception (traceback) and stack
and then redact: a last-line defence drops any 12-digit run from every value, recursively
(nested dicts and lists, keys, the formatted traceback, the message and cause of an
exception), so a My Number can never reach a log line even through a programming mistake;
code must not rely on it and never logs personal data in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace

# A 12-digit run that is not part of a longer word (so hex ids such as request ids stay whole).
_TWELVE_DIGITS = re.compile(r"(?<![0-9A-Za-z０-９])[0-9０-９]{12}(?![0-9A-Za-z０-９])")
REDACTED = "[redacted]"
_MAX_DEPTH = 20


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` with every 12-digit run replaced, recursively through mappings and
    sequences; an integer of 12 digits is replaced whole; any other object is rendered with
    ``str`` first (so its text is checked too)."""
    if isinstance(value, str):
        return _TWELVE_DIGITS.sub(REDACTED, value) if _TWELVE_DIGITS.search(value) else value
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return REDACTED if _TWELVE_DIGITS.fullmatch(str(abs(value))) else value
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {redact(str(k), depth + 1): redact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, depth + 1) for v in value]
    return redact(str(value), depth + 1)


def redacted_traceback(exc: BaseException) -> str:
    """The exception's plain traceback (with its causes, no local variables), redacted: for an
    ``exception=`` field that reads the same whatever renderer is configured."""
    return str(redact("".join(_plain_traceback(exc, set()))))


def _plain_traceback(exc: BaseException, seen: set[int]) -> list[str]:
    """What ``traceback.format_exception`` prints, without Python 3.11's caret lines.

    Working out the carets parses each frame's source line with ``ast.parse``. A registry
    process crashed with a segmentation fault inside that parse, while a gRPC worker thread
    formatted an unexpected error and another thread formatted a traceback at the same time
    (CPython 3.11.7, a full test run on 2026-11-27). The carets add nothing to a log line, so
    this formatter leaves them out, and the parse with them.
    """
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += _plain_traceback(cause, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += _plain_traceback(context, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        for frame in traceback.extract_tb(exc.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n')
            if frame.line:
                lines.append(f"    {frame.line.strip()}\n")
    lines += traceback.format_exception_only(type(exc), exc)
    return lines


def _redact_numbers(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The last processor before rendering (after exceptions are formatted)."""
    return {redact(str(key)): redact(value) for key, value in event_dict.items()}


def _add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


_HANDLER_MARK = "_mynumber_handler"


class _CurrentStdout:
    """``sys.stdout`` looked up at every write, not when logging was configured: whoever
    replaces ``sys.stdout`` later (a test runner's capture, a daemon's redirect) still gets
    the lines, and a replaced-then-closed stream is never written to."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()

    def isatty(self) -> bool:
        return sys.stdout.isatty()


def configure_logging(
    *, fmt: str = "auto", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog and the stdlib root logger for this process (one JSON or console
    pipeline for both, redaction last). Without ``stream``, lines go to the current stdout."""
    out: Any = stream if stream is not None else _CurrentStdout()
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    # Formatting first, redaction last, so nothing rendered escapes it.
    finish: list[Any] = [
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        _redact_numbers,
    ]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, *finish, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # The standard library's loggers: the same processors through a ProcessorFormatter.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *finish,
                renderer,
            ],
        )
    )
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "sqlalchemy"):
        # Their own handlers (plain text) would bypass the pipeline: hand their lines to root.
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True


def get_logger(name: str) -> Any:
    """A structlog logger named after the module that uses it."""
    return structlog.get_logger(name)
