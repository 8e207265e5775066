"""structlog configuration: configured once per process, JSON in containers, pretty on a TTY.

Per-call context (method, request id, caller) is bound with :mod:`structlog.contextvars` by the
call interceptor. A last-line defence processor drops any 12-digit run from log events so a
My Number can never reach a log line even through a programming mistake; code must not rely on
it and never logs personal data in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# A 12-digit run that is not part of a longer word (so hex ids such as request ids stay whole).
_TWELVE_DIGITS = re.compile(r"(?<![0-9A-Za-z０-９])[0-9０-９]{12}(?![0-9A-Za-z０-９])")


def _redact_numbers(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if isinstance(value, str) and _TWELVE_DIGITS.search(value):
            event_dict[key] = _TWELVE_DIGITS.sub("[redacted]", value)
    return event_dict


def configure_logging(
    *, fmt: str = "auto", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog and the stdlib root logger for this process."""
    out = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_numbers,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        stream=out, level=level.upper(), format="%(levelname)s %(name)s %(message)s"
    )


def get_logger(name: str) -> Any:
    """A structlog logger named after the module that uses it."""
    return structlog.get_logger(name)
