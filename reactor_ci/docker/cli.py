"""``reactor-ci docker-login`` and ``reactor-ci push`` (wired by :func:`add_commands`).

Import-light: the docker SDK loads only inside ``push``; argparse setup here
runs on every ``reactor-ci`` command.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reactor_ci import console, paths
from reactor_ci.docker import config
from reactor_ci.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from reactor_ci.ci import Provider
    from reactor_ci.credentials import Credentials
    from reactor_ci.session import Session

__all__ = ["add_commands", "docker_config_dir", "docker_login", "docker_logout", "export_docker_config_dir"]


def _session(provider: Provider | None) -> Session:
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.session import Session

    return Session(CredentialsStore(paths.credentials_path(provider)), warn=console.warn)


def docker_config_dir(provider: Provider | None, explicit: str | Path | None = None) -> Path:
    """The DOCKER_CONFIG directory docker-login edits: a pure lookup.

    ``explicit`` wins; in a CI with a job temp dir, a job-scoped directory (so
    the registration, and above all a ``--static`` secret, vanish with the job
    on a self-hosted runner); elsewhere ``$DOCKER_CONFIG`` or ``~/.docker``,
    like the docker CLI.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    job_tmp = provider.job_temp_dir() if provider is not None else None
    return config.user_config_dir() if job_tmp is None else Path(job_tmp) / config.JOB_DIR_NAME


def export_docker_config_dir(provider: Provider | None, explicit: str | Path | None = None) -> Path:
    """:func:`docker_config_dir`, and when job-scoped: seeded from the user's config and exported.

    Exported to this process (so the docker SDK and the helper we start see it)
    and to LATER steps through the CI's env file.
    """
    directory = docker_config_dir(provider, explicit)
    if explicit is not None or provider is None or provider.job_temp_dir() is None:
        return directory
    current = config.user_config_dir()
    already = current.resolve() == directory.resolve()
    config.seed_job_dir(directory, current)
    import os

    os.environ[config.ENV_DOCKER_CONFIG] = str(directory)
    provider.set_env(config.ENV_DOCKER_CONFIG, str(directory))
    if already:
        return directory
    if provider.in_action():
        # Inside a packaged action the user cannot edit our shell: the export
        # to later steps is all that matters to them.
        console.info(f"Docker: job-scoped DOCKER_CONFIG={directory} (exported to later steps).")
    else:
        # CI env files reach LATER steps only; a docker command in this same
        # shell script would still read ~/.docker and push anonymously.
        console.info(
            f"Docker: job-scoped DOCKER_CONFIG={directory} (exported to later steps; in this same step run "
            '`eval "$(reactor-ci docker-login --print-env)"` or export it yourself).'
        )
    return directory


def _on_later_path(provider: Provider | None) -> Path | None:
    """The helper in a directory this job already put on later steps' PATH (the action's bin/), or None."""
    import os

    for directory in provider.later_path() if provider is not None else []:
        candidate = Path(directory) / config.HELPER_BINARY
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _helper_hint(provider: Provider | None = None) -> str | None:
    """Why docker would not find the helper, and the fix; None when it will."""
    if config.helper_on_path():
        return None
    later = _on_later_path(provider)
    if later is not None:
        # True, and no warning: a push in any later step of the job finds it (issue 20).
        console.info(f"Docker: {config.HELPER_BINARY} is on PATH from the next step on ({later.parent}).")
        return None
    beside = Path(sys.executable).parent / config.HELPER_BINARY
    where = f" It is installed at {beside}: add {beside.parent} to PATH." if beside.exists() else ""
    return (
        f"{config.HELPER_BINARY} is not on PATH, so docker cannot run it and will push ANONYMOUSLY ('denied').{where}"
    )


def docker_login(
    static: bool = False,
    creds: Credentials | None = None,
    *,
    config_dir: str | Path | None = None,
    provider: Provider | None = None,
    refresh: bool = False,
) -> Path:
    """Register the helper (default) or write a static login; return the config.json path.

    ``refresh`` fetches a brand-new registry token even when the stored one
    looks valid: the registry may have invalidated it before its recorded
    expiry, and the helper would keep handing it out. ``provider`` None: no CI
    (nothing job-scoped, nothing exported).
    """
    if creds is None:
        # A static login lives exactly as long as the token it copies: start it
        # with a brand-new token. The helper refreshes on its own, no need.
        creds = _session(provider).fresh(force=static or refresh)
        if refresh:
            from reactor_ci.timeutil import format_time

            console.info(f"Fetched a new registry token, valid until {format_time(creds.registry_token_expiry)}.")
    directory = export_docker_config_dir(provider, config_dir)
    host = creds.registry_host
    if static:
        path = config.set_static(directory, host, creds.docker_username, creds.registry_token)
        from reactor_ci.timeutil import format_time

        left = creds.seconds_left()
        remaining = f"{left / 3600:.1f} h" if left >= 3600 else f"{max(0, left) / 60:.1f} min"
        console.warn(
            f"static Docker login for {host} written to {path}; it EXPIRES at "
            f"{format_time(creds.registry_token_expiry)} (in {remaining}) and a push after that fails "
            "with 'unauthorized'. Run `reactor-ci docker-login` again before each push, or use the "
            "credential helper (`reactor-ci docker-login` without --static), which refreshes itself."
        )
        store = config.creds_store(directory)
        if store:
            console.warn(
                f"{path} sets credsStore={store!r}: the docker CLI asks that store, not this static entry; "
                "tools that read auths directly still use it."
            )
    else:
        path = config.set_helper(directory, host)
        console.info(f"Docker: {host} now uses {config.HELPER_BINARY} ({path}); it refreshes the token itself.")
        hint = _helper_hint(provider)
        if hint:
            console.warn(hint)
    return path


def docker_logout(host: str | None = None) -> None:
    """Remove our entries from the current DOCKER_CONFIG.

    Raises the :class:`ReactorCIError` of a config it cannot read or write (a
    FIFO, /dev/zero, corrupt JSON): ``logout`` has removed the credentials by
    then and reports this as the rest of its work.
    """
    directory = config.user_config_dir()
    path = directory / config.CONFIG_NAME
    try:
        if config.remove(directory, [host] if host else None):
            console.info(f"Docker: removed the Reactor registry entries from {path}.")
    except OSError as exc:
        raise UsageError(
            f"could not clean {path}: {exc.strerror or exc.__class__.__name__}",
            "remove the Reactor registry's credHelpers entry from it by hand, or fix its permissions.",
            code="docker_config",
        ) from None


# -- commands ------------------------------------------------------------------


def cmd_docker_login(args: argparse.Namespace) -> int:
    provider: Provider = args.provider
    path = docker_login(
        static=bool(args.static), config_dir=args.docker_config, provider=provider, refresh=bool(args.refresh)
    )
    if args.print_env:
        # For `eval "$(reactor-ci docker-login --print-env)"`: the helper that
        # docker runs from this shell must find the same config and credentials.
        from reactor_ci.fastread import CREDENTIALS_ENV

        console.out(f"export {config.ENV_DOCKER_CONFIG}={shlex.quote(str(path.parent))}")
        console.out(f"export {CREDENTIALS_ENV}={shlex.quote(str(paths.credentials_path(provider)))}")
    return int(ExitCode.OK)


def cmd_push(args: argparse.Namespace) -> int:
    from reactor_ci.docker.push import Progress, push_images, write_outputs

    provider: Provider = args.provider
    progress = Progress(sys.stderr, mode=args.progress)
    results = push_images(list(args.images), session=_session(provider), progress=progress, scan=not args.no_scan)
    write_outputs(results, provider.set_output)
    from reactor_ci.ci import markdown_code

    lines = "\n".join(
        f"| {markdown_code(str(r.image))} | {markdown_code(r.digest)} | {markdown_code(r.scan or 'NOT scanned (--no-scan)')} |"
        for r in results
    )
    provider.add_summary(
        f"### Pushed to the Reactor registry\n\n| image | digest | key scan |\n| --- | --- | --- |\n{lines}\n"
    )
    return int(ExitCode.OK)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``docker-login`` and ``push`` to the top-level subparsers."""
    p = sub.add_parser(
        "docker-login",
        help="let docker use fresh Reactor registry credentials (credential helper; --static for a plain login)",
        description="Register docker-credential-reactor for the Reactor registry in $DOCKER_CONFIG/config.json "
        "(default ~/.docker; job-scoped in CI). Other entries are kept.",
    )
    p.add_argument(
        "--static",
        action="store_true",
        help="write a plain login instead (for tools that cannot run helpers); it expires with the token",
    )
    p.add_argument("--docker-config", metavar="DIR", help="edit DIR/config.json (no job-scoped copy in CI)")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="fetch a brand-new registry token now, even if the stored one looks valid "
        "(the fix when the registry rejects a token before its expiry)",
    )
    p.add_argument(
        "--print-env",
        action="store_true",
        help="print `export DOCKER_CONFIG=… REACTOR_CREDENTIALS=…` lines for eval in the same shell",
    )
    p.set_defaults(func=cmd_docker_login)

    p = sub.add_parser(
        "push",
        help="push images to the Reactor registry with fresh credentials; print each digest",
        description="Push each IMAGE[:TAG] with the docker SDK, refreshing the registry token first if it "
        "would not outlive the push. Prints REPOSITORY@DIGEST per image on stdout and sets the CI outputs "
        "`digest` and `digests`.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE[:TAG]")
    p.add_argument(
        "--progress",
        choices=("auto", "tty", "plain", "none"),
        default="auto",
        help="per-layer bars on a terminal, periodic lines otherwise (auto)",
    )
    p.add_argument(
        "--no-scan",
        action="store_true",
        help="push WITHOUT first scanning each image for Reactor keys (layers, config, history); warns loudly",
    )
    p.set_defaults(func=cmd_push)
