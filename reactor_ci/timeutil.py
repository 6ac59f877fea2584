"""Time parsing and formatting shared by the API client, the store and the CLI.

Its own module so :mod:`reactor_ci.api` need not import the credentials store
just to read a timestamp. Everything that comes in is untrusted (a server
answer, a file another tool wrote): :func:`parse_time` accepts RFC 3339 or
epoch seconds inside a plausible window and raises ``ValueError`` for
anything else -- year 1 or 9999 with an offset that would overflow, ``1e300``,
``nan``, a 10 kB string -- so callers map ONE exception to their exit code
(2 for a file, 4 for an API answer) instead of leaking an ``OverflowError``.
"""

from __future__ import annotations

import math

# datetime loads where a time is parsed or formatted, not at import: status's fast path
# prints human_duration and must not pay for it.
TYPE_CHECKING = False  # typing imports re; mypy reads this name as True
if TYPE_CHECKING:
    from datetime import datetime

# The window a real Reactor timestamp lies in. Below: before the epoch (no token
# was issued then). Above: year 3000; far enough for any lifetime, and far from
# datetime's year-9999 edge, where an offset or arithmetic overflows.
MIN_EPOCH = 0.0
MAX_EPOCH = 32503680000.0  # 3000-01-01T00:00:00Z
# An RFC 3339 time is at most ~35 characters; bound the parser's input.
_MAX_TEXT = 64


def parse_time(value: object, what: str = "timestamp") -> datetime:
    """RFC 3339 (``...Z`` or an offset) or epoch seconds -> aware UTC; ``ValueError`` otherwise."""
    from datetime import datetime, timezone

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or not MIN_EPOCH <= value <= MAX_EPOCH:
            raise ValueError(f"{what} is out of range")
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str) and value.strip() and len(value) <= _MAX_TEXT:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            result = parsed.astimezone(timezone.utc)
            stamp = result.timestamp()
        except (ValueError, OverflowError, OSError):
            pass
        else:
            if not MIN_EPOCH <= stamp <= MAX_EPOCH:
                raise ValueError(f"{what} is out of range")
            return result
    raise ValueError(f"{what} is not an RFC 3339 time")


def format_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: what the credentials file stores and the CLI prints."""
    from datetime import timezone

    return value.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(ts: float) -> datetime:
    """Whole seconds, aware UTC: what the file stores."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


def human_duration(seconds: float) -> str:
    """``5h59m``, ``14m59s``, ``42s``."""
    seconds = int(max(0, seconds)) if math.isfinite(seconds) else 0
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
