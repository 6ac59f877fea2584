"""``reactor-ci status [--json]`` in the clearly simple case, at about the interpreter's start-up.

``status`` runs in every CI job; the full path (argparse, the store, console -> re) costs ~4x a
bare interpreter. This answers only exactly ``[-q|--quiet] status [--json]`` on a CI detected by
its marker (no ``REACTOR_CI_PROVIDER``), every setting valid, for a private file the store loads
as it is, at a path needing no normalising, with an unexpired token and output that scrub and
logsafe leave unchanged: then it prints and masks byte for byte as the full path does
(tests/test_status_fast.py, Hypothesis). Anything else: None, the full path decides.

It copies no rule, and imports only light ones: the report's forms are :mod:`reactor_ci.status`'s,
the file's :mod:`reactor_ci.fastread`'s, redaction :mod:`reactor_ci.redact`'s, the CI tables
:mod:`reactor_ci.citables`', Buildkite's agent :mod:`reactor_ci.buildkite_agent`'s (loaded only there).
"""

from __future__ import annotations

import os
import sys
import time

from reactor_ci import citables, fastread, settings
from reactor_ci.redact import basic_auth, new_forms, unchanged_by_scrub
from reactor_ci.status import document, lines


def run(argv: list[str]) -> int | None:
    """Print what the full path would and return its exit code, or None: the full path decides."""
    env = dict(os.environ)
    try:
        answer = render(argv, env, time.time())
        if answer is None:
            return None
        stdout, stderr_lines, agent_masks = answer
        if agent_masks:  # Buildkite: masked through its agent first, in one batch, as its provider does
            from reactor_ci import buildkite_agent  # only here: os, time, select

            agent = buildkite_agent.find(env)
            for warning in buildkite_agent.add(agent, agent_masks, env) if agent is not None else []:
                print(warning, file=sys.stderr, flush=True)
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


def render(argv: list[str], env: dict[str, str], now: float) -> tuple[str | None, list[str], list[str]] | None:
    """(stdout text or None, stderr lines, values for Buildkite's agent to mask first) the full path
    prints and masks for ``argv`` at ``now``; None when unsure."""
    quiet, as_json = argv[:1] in (["-q"], ["--quiet"]), argv[-1:] == ["--json"]
    ci = None if env.get(citables.OVERRIDE_VAR) else citables.marked(env)  # an override may be an error
    if argv[quiet:] not in (["status"], ["status", "--json"]) or ci is None:
        return None
    if any(settings.peek(name, env) is None for name in settings.SPECS):
        return None
    path = fastread.credentials_path(env, env.get(citables.JOB_TEMP.get(ci, ""), ""))
    # The full path prints str(Path(path)): leave any path pathlib would rewrite to it.
    data = fastread.read_private(path) if path is not None and os.path.normpath(path) == path else None
    assessed = fastread.assess(data, now, env)
    if path is None or assessed is None or not isinstance(data, dict):
        return None
    _, left, due = assessed
    state = fastread.token_state(left, due)
    if state == "expired":
        return None  # the full path fails with exit 3 and the fix
    partner, registry, api_key, when = (data[k] for k in ("partner_id", "registry", "api_key", "registry_token_expiry"))
    if not (len(when) == 20 and when[10::9] == "TZ"):
        return None  # a form format_time would print otherwise
    stdout = fastread.dumps(document(partner, registry, when, left, state, path), 2) if as_json else None
    shown = [] if as_json or quiet else lines(partner, registry, api_key, when, left, state, path)
    token = data["registry_token"]
    # What Credentials.from_json registers, in the order the CI's mask sees it.
    secrets = new_forms(api_key, token, basic_auth(fastread.docker_username(data), token))
    printed = "\n".join([stdout or "", *shown])
    # Printable ASCII and no "##": nothing logsafe would escape, nothing json.dumps quotes otherwise.
    plain = all(text.isascii() and text.isprintable() for text in (partner, registry, api_key, path))
    if not plain or "##" in printed or not unchanged_by_scrub(printed, secrets):
        return None
    masks = (
        [line for value in secrets for line in citables.mask_commands(ci, value)]
        if ci in citables.MASK_COMMANDS
        else []
    )
    return stdout, masks + shown, secrets if ci == "buildkite" else []
