"""Canary checks, defined once: no secret, in any form a server might echo, in any output or file.

A Reactor key counts as leaked when the whole key OR its body without the
``rp_``/``rk_`` prefix appears (servers echo either; issue 9.5). Secrets are
given as a list or as ``{name: value}``, so a failure names WHAT leaked and
where, never the value itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["assert_no_secret", "files_holding", "forms"]

Secrets = Mapping[str, str] | Iterable[str]


def forms(secret: str) -> list[str]:
    """The spellings of ``secret`` that must never appear: itself, and a Reactor key's body."""
    out = [secret]
    if secret[:3] in ("rp_", "rk_") and len(secret) > 11:
        out.append(secret[3:])
    return out


def _named(secrets: Secrets) -> dict[str, str]:
    if isinstance(secrets, Mapping):
        return {str(name): value for name, value in secrets.items() if value}
    return {f"secret ending …{value[-4:]}": value for value in secrets if value}


def assert_no_secret(texts: Iterable[str], secrets: Secrets, where: str = "the output") -> None:
    """Fail when any form of any secret appears in any of ``texts``."""
    blob = "\n".join(texts)
    for name, value in _named(secrets).items():
        for form in forms(value):
            at = blob.find(form)
            if at >= 0:
                context = blob[max(0, at - 60) : at + len(form) + 20].replace(form, "<SECRET>")
                what = name if form == value else f"{name} (its body, without the prefix)"
                raise AssertionError(f"{what} leaked into {where}: {context!r}")


def files_holding(root: Path, secrets: Secrets, skip: Iterable[Path] = ()) -> list[str]:
    """Every regular file under ``root`` (but ``skip``) holding a form of a secret, as 'path: name'."""
    skipped = set(skip)
    needles = {name: [form.encode() for form in forms(value)] for name, value in _named(secrets).items()}
    hits = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file() or path in skipped:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits += [f"{path}: {name}" for name, spelled in needles.items() if any(n in data for n in spelled)]
    return hits
