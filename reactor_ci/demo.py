"""`reactor-ci demo`: the main job end to end against the built-in emulator.

Starts the emulator on loopback in a temporary home, then runs the real
commands as a pipeline would (keys passed through the environment, never
argv): login + docker-login, status, two JWTs (one clamped), a leak scan that
catches a planted key, logout, and status again (now failing as it should).

The headline, when the parts are here (dockerd, docker-registry, the
``reactor-ci[emulator]`` extra, root): a private dockerd, the emulator's real
registry with a SHORT registry-token lifetime, a tiny image (``docker import``
of a tarball: no pull, no network) pushed by the real ``docker push`` through
``docker-credential-reactor``, then a second push after the first token's
half-life, which the helper serves with a refreshed token.  Without them the
demo says which part is missing and how to get it, and runs the rest.

Everything it starts is stopped by its pid; the temporary home is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reactor_ci import console, settings
from reactor_ci.errors import ExitCode, ReactorCIError

_CLEAN_ENV = ("REACTOR_API_KEY", "REACTOR_API_URL", "REACTOR_CREDENTIALS", "DOCKER_CONFIG", "DOCKER_HOST")
_CLEAN_PREFIXES = ("GITHUB_", "REACTOR_CI_")
# Short enough to see a refresh within the demo, long enough that the first
# push surely starts before the half-life even on a loaded 2-core machine.
REGISTRY_TOKEN_TTL = 24
# Allowed registry hosts besides *.reactor.inc (the emulator's is 127.0.0.1:PORT).


@contextlib.contextmanager
def emulator(home: Path, *options: str) -> Iterator[dict[str, Any]]:
    """A background emulator (the same start-up as ``emulator --detach``), stopped by pid."""
    from reactor_ci.emulator import detach

    try:
        proc, state = detach.start_background(list(options), home / "emulator.json", home / "emulator.log", cwd=home)
    except detach.DetachError as exc:
        raise ReactorCIError(
            f"the emulator did not start: {exc}", f"see its log: {home / 'emulator.log'} (run with --keep)"
        ) from None
    try:
        yield state
    finally:
        detach.terminate(proc.pid)


def docker_part_missing() -> str | None:
    """None when the Docker part can run here; else what is missing and how to get it."""
    from reactor_ci.emulator import dockerd, realm

    if not realm.crypto_available():
        from reactor_ci.release import pip_install

        return f"the emulator's registry realm needs an extra: {pip_install('emulator')}"
    if shutil.which("docker-registry") is None:
        return "`docker-registry` is not on PATH (Debian: apt-get install docker-registry)"
    return dockerd.why_unavailable()


def _scripts_path(environ: Mapping[str, str]) -> str:
    """PATH with this installation's scripts first: docker must find OUR helper.

    ``scripts/demo`` runs ``.venv/bin/reactor-ci`` without the venv on PATH;
    without this, login would rightly warn that the helper is not on PATH.
    """
    dirs = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    rest = environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(dict.fromkeys([*dirs, *rest]))


class _Steps:
    """Runs ``reactor-ci``/``docker`` commands as a pipeline would; counts surprises."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.failures = 0

    def run(self, title: str, argv: list[str], env: Mapping[str, str], expected: int = 0) -> int:
        shown = argv if argv[0] == "docker" else ["reactor-ci", *argv]
        console.info(f"\n== {title}\n$ {' '.join(shown)}")
        cmd = argv if argv[0] == "docker" else [sys.executable, "-m", "reactor_ci", *argv]
        code = subprocess.run(cmd, env=dict(env), stdin=subprocess.DEVNULL, cwd=self.home, check=False).returncode
        self.check(code == expected, f"exit {code}", f"EXPECTED {expected}")
        return code

    def check(self, ok: bool, what: str, expected: str) -> None:
        self.failures += not ok
        console.info(f"-> {what} ({'as expected' if ok else expected})")


def _stored_expiry(home: Path) -> str:
    data = json.loads((home / ".reactor" / "credentials").read_text())
    return str(data["registry_token_expiry"])


def _registry_tokens_issued(state: Mapping[str, Any]) -> int:
    import httpx

    stats = httpx.get(f"{state['control_url']}/stats", timeout=10, trust_env=False).json()
    return int(stats["registry_tokens_issued"])


def _docker_env(env: Mapping[str, str], engine_host: str) -> dict[str, str]:
    return {**env, "DOCKER_HOST": engine_host, "DOCKER_CLI_HINTS": "false"}


def _image_refs(state: Mapping[str, Any]) -> list[str]:
    return [f"{state['registry']}/demo:{n}" for n in (1, 2)]


def _make_images(state: Mapping[str, Any], env: Mapping[str, str], engine_host: str) -> None:
    """Before login: the first push must start well before the token's half-life."""
    from reactor_ci.emulator import dockerd

    for n, ref in enumerate(_image_refs(state), 1):
        # Distinct content: each push uploads its own layer.
        dockerd.import_image(_docker_env(env, engine_host), ref, f"reactor-ci demo image {n} {time.time()}\n".encode())


def _docker_part(steps: _Steps, state: Mapping[str, Any], env: dict[str, str], engine_host: str) -> None:
    import httpx

    try:
        _pushes(steps, state, env, engine_host)
    except (OSError, ValueError, KeyError, httpx.HTTPError) as exc:
        # A step above already failed (no credentials file, emulator gone):
        # count it, never a traceback.
        steps.check(False, f"the Docker part stopped: {type(exc).__name__}: {exc}", "EXPECTED two pushes")


def _pushes(steps: _Steps, state: Mapping[str, Any], env: dict[str, str], engine_host: str) -> None:
    """Two pushes through the helper; the second after the first token's half-life."""
    from reactor_ci.timeutil import parse_time

    env = _docker_env(env, engine_host)
    refs = _image_refs(state)
    steps.run("push a tiny image: docker asks docker-credential-reactor", ["docker", "push", refs[0]], env)
    # Counted from here: on a very slow machine push 1 itself may already
    # have come after the half-life; what the demo proves is that push 2 did.
    first_expiry = _stored_expiry(steps.home)
    issued = _registry_tokens_issued(state)
    wait = parse_time(first_expiry).timestamp() - REGISTRY_TOKEN_TTL / 2 - time.time() + 1
    console.info(
        f"\n== the registry token lives {REGISTRY_TOKEN_TTL} s (expires {first_expiry}); "
        f"waiting {max(wait, 0):.0f} s for its half-life"
    )
    if wait > 0:
        time.sleep(wait)
    steps.run("push again after the half-life: the helper refreshes first", ["docker", "push", refs[1]], env)
    second_expiry = _stored_expiry(steps.home)
    refreshed = _registry_tokens_issued(state) - issued
    steps.check(
        second_expiry != first_expiry and refreshed == 1,
        f"the helper got {refreshed} new registry token from the API; stored expiry now {second_expiry}",
        "EXPECTED exactly one refresh by push 2",
    )


def run_demo(*, with_registry: bool = False, keep: bool = False) -> int:
    """``with_registry``: the Docker part is required (exit 2 naming what is missing)."""
    from reactor_ci.emulator import dockerd

    missing = docker_part_missing()
    if missing and with_registry:
        console.error(f"demo --with-registry: {missing}")
        return int(ExitCode.USAGE)
    home = Path(tempfile.mkdtemp(prefix="reactor-ci-demo-"))
    os.chmod(home, 0o700)
    steps = _Steps(home)
    try:
        with contextlib.ExitStack() as stack:
            options: list[str] = []
            engine = None
            if missing is None:
                console.info("Starting a private dockerd (own socket, vfs, no network) for the Docker part...")
                engine = stack.enter_context(dockerd.running())
                options = ["--with-registry", "--registry-token-ttl", str(REGISTRY_TOKEN_TTL)]
            state = stack.enter_context(emulator(home, *options))
            console.info(f"Emulator ready at {state['url']} (organisation {state['partner_id']}).")
            base = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV and not k.startswith(_CLEAN_PREFIXES)}
            base.update(
                HOME=str(home),
                PATH=_scripts_path(os.environ),
                REACTOR_API_URL=str(state["url"]),
                DOCKER_CONFIG=str(home / ".docker"),
            )
            if engine is not None:
                # The helper refreshes at half-life; its 1 h minimum would make
                # every call refresh a 24 s token.
                base.update(
                    {settings.REGISTRY_HOSTS: str(state["registry_host"]), "REACTOR_CI_MIN_TOKEN_LIFETIME": "1"}
                )
            partner = {**base, "REACTOR_API_KEY": str(state["partner_key"])}
            app = {**base, "REACTOR_API_KEY": str(state["app_key"])}
            leak = home / "project" / "settings.py"
            leak.parent.mkdir()
            leak.write_text(f'REACTOR_KEY = "{state["partner_key"]}"\n')
            if engine is not None:
                _make_images(state, base, engine.host)
            run = steps.run
            logged_in = (
                run("log in with the partner key, register the Docker helper", ["login", "--docker-login"], partner)
                == 0
            )
            run("show the stored credentials", ["status"], base)
            if engine is not None and logged_in:
                _docker_part(steps, state, base, engine.host)
            run("mint a 15-minute JWT from the app key", ["token", "--expires-after", "900"], app)
            run("ask for 24 h: the server clamps to 6 h, we warn", ["token", "--expires-after", "86400"], app)
            run("a partner key used for a JWT is refused (exit 2)", ["token"], partner, 2)
            run("scan a file with a leaked key (exit 1, redacted)", ["scan", str(leak)], base, 1)
            run("log out (idempotent)", ["logout"], base)
            run("status after logout fails (exit 3)", ["status"], base, 3)
    except dockerd.DockerdError as exc:
        console.error(f"demo: the Docker part failed: {exc}")
        return int(ExitCode.DOCKER)
    finally:
        if keep:
            console.info(f"\nKept the temporary home: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if missing:
        console.info(f"\nSkipped the Docker part (two pushes through the helper, one after a refresh): {missing}.")
    if steps.failures:
        console.error(f"demo: {steps.failures} step(s) did not behave as expected")
        return int(ExitCode.FAILURE)
    console.info("\nDemo complete: every step behaved as expected.")
    return int(ExitCode.OK)


def _cmd(args: Any) -> int:
    return run_demo(with_registry=bool(args.with_registry), keep=bool(args.keep))


def add_commands(sub: Any) -> None:
    """Add ``demo`` to the top-level subparsers."""
    p = sub.add_parser("demo", help="run the whole flow against a local emulator in a temporary home")
    p.add_argument("--with-registry", action="store_true", help="also start a real registry and push an image")
    p.add_argument("--keep", action="store_true", help="keep the temporary home and print its path")
    p.set_defaults(func=_cmd)
