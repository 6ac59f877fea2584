"""``reactor-ci status [--json]`` in the clearly simple case, with the stdlib alone.

``status`` runs in every CI job and on every developer's "am I logged in?".
The full path (argparse, the credentials store, the session, console ->
redact/logsafe -> re) costs about 4x a bare interpreter's start-up in a clean
venv; this module answers the common case -- valid credentials, nothing odd
-- in about the time of the interpreter itself, and returns ``None`` for
anything else so the full path (unchanged) decides, reports and explains.

It answers ONLY when every one of these holds, else ``None``:

* the arguments are exactly ``[-q|--quiet] status [--json]``;
* no CI marker variable is set (a CI installs masking and annotations, and may
  scope the credentials to the job: the full path's business) -- except, with
  ``$REACTOR_CREDENTIALS`` set, GitHub Actions (the action exports it; the
  ``::add-mask::`` lines the full path writes to stderr are replicated) and
  the CIs that cannot mask (GitLab, CircleCI, Jenkins, Bitbucket: their valid
  ``status`` prints what it prints locally);
* every numeric setting is valid (:func:`settings.peek`): commands check them
  all up front, and a bad one is exit 2 from the full path;
* the file is a private regular file in a directory others cannot write, and
  parses (:func:`fastread.read_private`), and its path needs no normalising;
* the credentials are what :meth:`Credentials.from_json` accepts, with times in
  the canonical ``YYYY-MM-DDTHH:MM:SSZ`` form, for an allowed registry;
* the token has not expired (``valid`` or ``expiring``, which the full path
  prints without a warning; expired/missing are errors, exit 3, with the fix);
* every printed field is plain printable ASCII, and what would be printed holds
  no registered secret, no key/JWT shape and no CI command opener: the full
  path's ``scrub``/``logsafe`` would leave it unchanged.

Then the output is byte-identical to the full path's: tests/test_status_fast.py
proves it with Hypothesis over credentials files and environments. The small
helpers below MIRROR redact.redact, timeutil.human_duration and the session's
rule; the same tests hold them to the originals.

Imports: os, sys, time, binascii, :mod:`reactor_ci.fastread`, :mod:`reactor_ci.settings`.
"""

from __future__ import annotations

import binascii
import os
import sys
import time
from _json import encode_basestring_ascii as _quote  # the C string encoder json.dumps uses: no `re`

from reactor_ci import fastread, settings
from reactor_ci.fastread import DEFAULT_TOKEN_LIFETIME, MAX_FIELD, REQUIRED

# The variables reactor_ci.ci.detect reads (any value at all sends us to the full path).
CI_MARKERS = (
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "TF_BUILD",
    "BUILDKITE",
    "CIRCLECI",
    "JENKINS_URL",
    "BITBUCKET_BUILD_NUMBER",
    "REACTOR_CI_PROVIDER",
)
# The CIs whose provider has can_mask False (reactor_ci/ci): nothing is printed at start-up.
NO_MASK = ("GITLAB_CI", "CIRCLECI", "JENKINS_URL", "BITBUCKET_BUILD_NUMBER")
# Mirrors reactor_ci.redact: the shortest value registered as a secret.
MIN_SECRET = 6


def run(argv: list[str]) -> int | None:
    """Print what the full path would and return its exit code, or None: the full path decides."""
    try:
        answer = render(argv, dict(os.environ), time.time())
    except Exception:  # a bug here must not cost the user: the full path reports properly
        return None
    if answer is None:
        return None
    stdout, stderr_lines = answer
    try:
        if stdout is not None:
            print(stdout, flush=True)
        for text in stderr_lines:
            print(text, file=sys.stderr, flush=True)
    except BrokenPipeError:
        return 1  # as cli.main: ExitCode.FAILURE
    return 0


def render(argv: list[str], env: dict[str, str], now: float) -> tuple[str | None, list[str]] | None:
    """(stdout text or None, stderr lines) the full path prints for ``argv`` at ``now``; None when unsure."""
    request = _request(argv)
    if request is None:
        return None
    # In a CI, only with an explicit credentials path (job-scoped paths are the full path's) and
    # exactly one marker: GitHub Actions (the action exports the path to later steps; its
    # ::add-mask:: lines are replicated below), or a CI whose provider cannot mask, where a valid
    # status prints what it prints locally. Azure and Buildkite mask, REACTOR_CI_PROVIDER
    # overrides, several markers race: the full path's.
    markers = [name for name in CI_MARKERS if env.get(name)]
    github = markers == ["GITHUB_ACTIONS"] and env["GITHUB_ACTIONS"].lower() == "true"
    if markers and not (
        env.get(fastread.CREDENTIALS_ENV, "").strip() and (github or (len(markers) == 1 and markers[0] in NO_MASK))
    ):
        return None
    quiet, as_json = request
    if any(settings.peek(name, env) is None for name in settings.SPECS):
        return None
    path = _credentials_path(env)
    if path is None:
        return None
    data = fastread.read_private(path)
    creds = _valid(data, env, now)
    if creds is None or not isinstance(data, dict):
        return None
    partner, registry, api_key, expiry_text, left, state = creds
    if as_json:
        stdout: str | None = (
            "{\n"
            f'  "partner_id": {_quote(partner)},\n'
            f'  "registry": {_quote(registry)},\n'
            f'  "registry_token_expiry": {_quote(expiry_text)},\n'
            f'  "expires_in_seconds": {int(left)},\n'
            f'  "state": "{state}",\n'
            f'  "credentials_path": {_quote(path)}\n'
            "}"
        )
        lines: list[str] = []
    else:
        stdout = None
        lines = [
            f"Organisation:  {partner}",
            f"Registry:      {registry}",
            f"API key:       {redact(api_key)}",
            f"Token:         {state}, expires {expiry_text} (in {human_duration(left)})",
            f"Credentials:   {path}",
        ]
        if quiet:
            lines = []
    printed = "\n".join([stdout or "", *lines])
    secrets = _registered(data)
    if not _unchanged_by_scrub(printed, set(secrets)) or "##" in printed:
        return None
    return stdout, (_github_masks(secrets) if github else []) + lines


def _request(argv: list[str]) -> tuple[bool, bool] | None:
    """(quiet, json) for exactly ``[-q|--quiet] status [--json]``; None for anything else."""
    args = list(argv)
    quiet = bool(args) and args[0] in ("-q", "--quiet")
    if quiet:
        args.pop(0)
    if args == ["status"]:
        return quiet, False
    if args == ["status", "--json"]:
        return quiet, True
    return None


def _credentials_path(env: dict[str, str]) -> str | None:
    """The path the full path would print (``str(Path(...))``), when no normalising is needed."""
    configured = env.get(fastread.CREDENTIALS_ENV, "").strip() or "~/.reactor/credentials"
    if configured.startswith("~"):
        if not configured.startswith("~/"):
            return None  # `~` alone, `~user`: the full path decides
        home = env.get("HOME", "").strip()
        if not home.startswith("/") or not os.path.isdir(home):
            return None  # the full path explains (no_home)
        configured = home + configured[1:]
    segments = configured.split("/")
    # pathlib drops empty and "." segments and keeps a leading "//": leave all of those to it.
    body = segments[1:] if configured.startswith("/") else segments
    if not body or any(s in ("", ".") for s in body) or not _plain(configured):
        return None
    return configured


def _valid(data: object, env: dict[str, str], now: float) -> tuple[str, str, str, str, float, str] | None:
    """(partner, registry, api key, expiry text, seconds left, state) for unexpired credentials."""
    if not isinstance(data, dict):
        return None
    if not all(isinstance(data.get(k), str) and data[k] and len(data[k]) <= MAX_FIELD for k in REQUIRED):
        return None
    expiry_text = data["registry_token_expiry"]
    expiry = _canonical_time(expiry_text)
    issued = None
    if data.get("registry_token_issued_at"):
        issued = _canonical_time(data["registry_token_issued_at"])
        if issued is None:
            return None
    parts = settings.split_registry(data["registry"])
    if expiry is None or parts is None or not settings.registry_allowed(parts[0], env):
        return None
    minimum = settings.peek(settings.MIN_TOKEN_LIFETIME, env)
    if minimum is None:
        return None
    lifetime = expiry - issued if issued is not None and expiry - issued > 0 else DEFAULT_TOKEN_LIFETIME
    left = expiry - now
    if left <= 0:
        return None  # expired: the full path fails with exit 3 and the fix
    state = "expiring" if left < max(lifetime / 2, minimum) else "valid"  # Session.state's rule
    partner, registry, api_key = data["partner_id"], data["registry"], data["api_key"]
    if not (_plain(partner) and _plain(registry) and _plain(api_key)):
        return None
    return partner, registry, api_key, expiry_text, left, state


def _canonical_time(value: object) -> float | None:
    """Epoch seconds for exactly ``YYYY-MM-DDTHH:MM:SSZ`` (what format_time prints back); else None."""
    if not isinstance(value, str) or len(value) != 20 or value[10] != "T" or value[19] != "Z":
        return None
    return fastread.epoch(value)


def _plain(text: str) -> bool:
    """Printable ASCII: nothing logsafe would escape, JSON quotes as json.dumps does."""
    return text.isascii() and text.isprintable()


def _registered(data: dict[str, object]) -> list[str]:
    """Every value the full path registers with :mod:`reactor_ci.redact` while loading ``data``,
    in the order its listeners (the CI's mask) see them: Credentials.from_json registers the key
    and the token, then register_secrets adds base64(user:token)."""
    api_key, token, partner = str(data["api_key"]), str(data["registry_token"]), str(data["partner_id"])
    username = data.get("registry_username")
    user = (
        username
        if isinstance(username, str) and username and len(username) <= MAX_FIELD and username.isprintable()
        else partner
    )
    basic = binascii.b2a_base64(f"{user}:{token}".encode(), newline=False).decode()
    known: list[str] = []
    for value in (api_key, token, basic):
        if len(value) < MIN_SECRET:
            continue
        forms = {value}
        if value.startswith(("rp_", "rk_")) and len(value) - 3 >= MIN_SECRET:
            forms.add(value[3:])
        forms.update(line for line in value.splitlines() if len(line.strip()) >= MIN_SECRET)
        known.extend(sorted(forms - set(known)))
    return known


def _github_masks(secrets: list[str]) -> list[str]:
    """What reactor_ci.ci.github.GitHub.mask writes (to stderr) for each registered value."""
    return [
        "::add-mask::" + line.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        for value in secrets
        for line in value.splitlines()
        if line.strip()
    ]


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


def redact(secret: str) -> str:
    """Mirrors :func:`reactor_ci.redact.redact`: ``rp_…wxyz`` for keys, ``***…wxyz`` else."""
    if not secret:
        return "<empty>"
    tail = secret[-4:] if len(secret) >= 12 else ""
    if secret.startswith(("rp_", "rk_")):
        return f"{secret[:3]}…{tail}"
    return f"***…{tail}" if tail else "***"


def human_duration(seconds: float) -> str:
    """Mirrors :func:`reactor_ci.timeutil.human_duration`: ``5h59m``, ``14m59s``, ``42s``."""
    seconds = int(max(0, seconds)) if seconds - seconds == 0 else 0  # finite, without math
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
