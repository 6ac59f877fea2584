"""``reactor-ci status [--json]`` in the clearly simple case, at about the interpreter's start-up.

``status`` runs in every CI job; the full path (argparse, the store, console ->
re) costs ~4x a bare interpreter. This answers ONLY when all of these hold, else
returns ``None`` and the full path decides, reports and explains:
exactly ``[-q|--quiet] status [--json]``; any CI reactor-ci knows, detected by
its one rule, with its job-scoped credentials path and the masking lines its
provider writes at start-up (GitHub's ``::add-mask::``, Azure's
``##vso[task.setsecret]``, both on stderr; Buildkite's agent, run through the
rule its provider calls, :mod:`reactor_ci.buildkite_agent`, loaded only then),
except an override (``REACTOR_CI_PROVIDER``); every numeric setting valid; a private regular file that parses, at a path needing no
normalising; credentials the store accepts, canonical times, an allowed
registry, a token not expired; printable ASCII that ``scrub``/``logsafe`` would
leave unchanged. Then the output is byte-identical (tests/test_status_fast.py,
Hypothesis over files and environments).

Nothing here is a copy: the file's rules are :mod:`reactor_ci.fastread`'s, the
redaction forms :mod:`reactor_ci.redact`'s, durations :mod:`reactor_ci.timeutil`'s,
the CI markers, job temp dirs and mask commands :mod:`reactor_ci.citables`' -- all
import-light (os, sys, time and C modules; tests/test_status_fast.py checks).
"""

from __future__ import annotations

import os
import sys
import time
from _json import encode_basestring_ascii as _quote  # the C string encoder json.dumps uses: no `re`

from reactor_ci import fastread, settings
from reactor_ci.citables import (
    BUILDKITE_AGENT,
    CANNOT_MASK,
    JOB_TEMP,
    MARKERS,
    MASK_COMMANDS,
    OVERRIDE_VAR,
    marked,
    mask_commands,
)
from reactor_ci.redact import basic_auth, forms, redact
from reactor_ci.timeutil import human_duration

# The variables reactor_ci.ci.detect reads (any value at all sends us to the full path).
CI_MARKERS = (*(variable for variable, _ in MARKERS.values()), OVERRIDE_VAR)
NO_MASK = tuple(MARKERS[name][0] for name in MARKERS if name in CANNOT_MASK)


def run(argv: list[str]) -> int | None:
    """Print what the full path would and return its exit code, or None: the full path decides."""
    env = dict(os.environ)
    try:
        answer = render(argv, env, time.time())
        if answer is None:
            return None
        stdout, stderr_lines, agent_masks = answer
        if agent_masks:  # Buildkite with its agent: mask as the full path does, first
            _mask_through_the_agent(env, agent_masks)
    except Exception:  # a bug here must not cost the user: the full path reports properly
        return None
    try:
        if stdout is not None:
            print(stdout, flush=True)
        for text in stderr_lines:
            print(text, file=sys.stderr, flush=True)
    except BrokenPipeError:
        return 1  # as cli.main: ExitCode.FAILURE
    return 0


def _mask_through_the_agent(env: dict[str, str], secrets: list[str]) -> None:
    """What the full path's Buildkite provider does with the one batch loading the file registers:
    the rule both call (one ``buildkite-agent redactor add`` for all, values on stdin; a warning
    line per failure), without the provider's import of the ``ci`` package."""
    from reactor_ci import buildkite_agent  # only here: os, time, select

    agent = buildkite_agent.find(env)
    if agent is not None:
        for warning in buildkite_agent.add(agent, secrets, env):
            print(warning, file=sys.stderr, flush=True)


def render(argv: list[str], env: dict[str, str], now: float) -> tuple[str | None, list[str], list[str]] | None:
    """(stdout text or None, stderr lines, values for Buildkite's agent to mask first) the full path
    prints and masks for ``argv`` at ``now``; None when unsure."""
    request = _request(argv)
    ci = _ci(env)
    if request is None or ci is None:
        return None
    quiet, as_json = request
    if any(settings.peek(name, env) is None for name in settings.SPECS):
        return None
    path = _credentials_path(env, ci)
    if path is None:
        return None
    data = fastread.read_private(path)
    creds = _valid(data, env, now)
    if creds is None or not isinstance(data, dict):
        return None
    partner, registry, api_key, expiry_text, left, state = creds
    stdout, lines = None, []
    if as_json:  # json.dumps(..., indent=2) of the full path's document
        document = {"partner_id": _quote(partner), "registry": _quote(registry)}
        document.update(registry_token_expiry=_quote(expiry_text), expires_in_seconds=str(int(left)))
        document.update(state=_quote(state), credentials_path=_quote(path))
        stdout = "{\n" + ",\n".join(f'  "{k}": {v}' for k, v in document.items()) + "\n}"
    elif not quiet:
        lines = [
            f"Organisation:  {partner}",
            f"Registry:      {registry}",
            f"API key:       {redact(api_key)}",
            f"Token:         {state}, expires {expiry_text} (in {human_duration(left)})",
            f"Credentials:   {path}",
        ]
    printed = "\n".join([stdout or "", *lines])
    secrets = _registered(data)
    if not _unchanged_by_scrub(printed, set(secrets)) or "##" in printed:
        return None
    masks = [command for value in secrets for command in mask_commands(ci, value)] if ci in MASK_COMMANDS else []
    agent = ci == "buildkite" and _maybe_on_path(BUILDKITE_AGENT, env)
    return stdout, masks + lines, secrets if agent else []


def _request(argv: list[str]) -> tuple[bool, bool] | None:
    """(quiet, json) for exactly ``[-q|--quiet] status [--json]``; None for anything else."""
    quiet = argv[:1] in (["-q"], ["--quiet"])
    rest = argv[1:] if quiet else argv
    return (quiet, rest == ["status", "--json"]) if rest in (["status"], ["status", "--json"]) else None


def _ci(env: dict[str, str]) -> str | None:
    """The CI :func:`reactor_ci.ci.detect_name` names, when its start-up is ours to write; else None.

    The full path keeps an override (``REACTOR_CI_PROVIDER``: it may be an error).
    """
    return None if env.get(OVERRIDE_VAR) else marked(env)


def _maybe_on_path(program: str, env: dict[str, str]) -> bool:
    """False only when no ``$PATH`` entry holds anything named ``program`` (so ``shutil.which``,
    which needs an existing file there, finds nothing); True when it might."""
    search = env.get("PATH", os.defpath)
    return any(os.path.lexists(os.path.join(entry, program)) for entry in search.split(os.pathsep))


def _credentials_path(env: dict[str, str], ci: str) -> str | None:
    """The path the full path would print (``str(Path(...))``), when no normalising is needed:
    :func:`reactor_ci.paths.credentials_path`'s rule (an explicit path, else job-scoped where the CI
    has a job temp dir, else the default)."""
    job_temp = env.get(JOB_TEMP.get(ci, ""), "") if not env.get(fastread.CREDENTIALS_ENV, "").strip() else ""
    path = f"{job_temp}/{fastread.JOB_DIR}/credentials" if job_temp else fastread.credentials_path(env)
    if path is None or not _plain(path):
        return None
    # pathlib drops empty and "." segments and keeps a leading "//": leave all of those to it.
    body = path.split("/")[1:] if path.startswith("/") else path.split("/")
    return None if not body or any(s in ("", ".") for s in body) else path


def _valid(data: object, env: dict[str, str], now: float) -> tuple[str, str, str, str, float, str] | None:
    """(partner, registry, api key, expiry text, seconds left, state) for unexpired credentials."""
    if fastread.field_problem(data) is not None or not isinstance(data, dict):
        return None
    expiry_text = data["registry_token_expiry"]
    expiry = _canonical_time(expiry_text)
    issued = _canonical_time(data[fastread.ISSUED_AT]) if data.get(fastread.ISSUED_AT) else None
    host = fastread.registry_host(data["registry"])
    minimum = settings.peek(settings.MIN_TOKEN_LIFETIME, env)
    if expiry is None or (issued is None and data.get(fastread.ISSUED_AT)) or minimum is None:
        return None
    if host is None or not settings.registry_allowed(host, env):
        return None
    left = expiry - now
    if left <= 0:
        return None  # expired: the full path fails with exit 3 and the fix
    expiring = fastread.refresh_due(left, fastread.lifetime(expiry, issued), minimum)  # Session.state's rule
    partner, registry, api_key = data["partner_id"], data["registry"], data["api_key"]
    if not (_plain(partner) and _plain(registry) and _plain(api_key)):
        return None
    return partner, registry, api_key, expiry_text, left, "expiring" if expiring else "valid"


def _canonical_time(value: object) -> float | None:
    """Epoch seconds for exactly ``YYYY-MM-DDTHH:MM:SSZ`` (what format_time prints back); else None."""
    canonical = isinstance(value, str) and len(value) == 20 and value[10] == "T" and value[19] == "Z"
    return fastread.epoch(value) if canonical else None


def _plain(text: str) -> bool:
    """Printable ASCII: nothing logsafe would escape, JSON quotes as json.dumps does."""
    return text.isascii() and text.isprintable()


def _registered(data: dict[str, object]) -> list[str]:
    """Every value the full path registers with :mod:`reactor_ci.redact` while loading ``data``,
    in the order its listeners (the CI's mask) see them: Credentials.from_json registers the key
    and the token, then register_secrets adds base64(user:token)."""
    token = str(data["registry_token"])
    known: list[str] = []
    for value in (str(data["api_key"]), token, basic_auth(fastread.docker_username(data), token)):
        known.extend(sorted(forms(value) - set(known)))
    return known


def _unchanged_by_scrub(text: str, secrets: set[str]) -> bool:
    """Conservatively: redact.scrub(text) == text (no known secret, no key- or JWT-shaped string)."""
    if any(secret in text for secret in secrets) or "eyJ" in text:
        return False
    for prefix in ("rp_", "rk_"):
        at = text.find(prefix)
        while at >= 0:
            after = text[at + 3 : at + 4]
            if after and after.isascii() and (after.isalnum() or after in "_-"):
                return False
            at = text.find(prefix, at + 1)
    return True
