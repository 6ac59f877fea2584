"""``reactor-ci-scan`` / ``reactor-ci scan``: find leaked Reactor keys.

HOT PATH: pre-commit starts this once per batch of files, so this module
imports only the standard library and reactor_ci.redact/errors (through the
engine); json, hashlib and subprocess are imported only by the paths that
need them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence

from reactor_ci.errors import ExitCode, ReactorCIError, UsageError

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["add_commands", "build_parser", "main", "run"]

FORMATS = ("text", "json", "sarif", "github", "gitlab")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true", help="scan the staged content of staged files")
    mode.add_argument("--all", action="store_true", help="scan every file git tracks")
    mode.add_argument("--since", metavar="REV", help="scan lines added by commits in REV..HEAD")
    mode.add_argument("--all-history", action="store_true", help="scan lines added by every commit")
    mode.add_argument(
        "--pre-push",
        action="store_true",
        help="scan lines added by the commits being pushed (pre-commit's pre-push stage)",
    )
    mode.add_argument(
        "--image",
        metavar="REF",
        help="scan a container image's layers, config and history: an image in the docker engine, "
        "docker-archive:PATH or oci:DIR[:TAG] (see docs/scanning.md, 'Scanning images')",
    )
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="suppress findings recorded in FILE (default: .reactor-ci-baseline.json if it exists)",
    )
    p.add_argument("--no-baseline", action="store_true", help="ignore any baseline file")
    p.add_argument(
        "--update-baseline",
        action="store_true",
        help="record every current finding in the baseline file and exit 0",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="REGEX",
        help="skip findings in paths matching REGEX (searched in the forward-slash path; repeatable)",
    )
    p.add_argument("--disable-rule", action="append", default=[], metavar="ID", help="turn a rule off (repeatable)")
    p.add_argument(
        "--no-stripe", action="store_true", help="do not report Stripe restricted keys (rk_live_/rk_test_/rk_prod_)"
    )
    p.add_argument("--max-size", type=int, default=None, metavar="BYTES", help="skip larger files (default: 5 MiB)")
    p.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N", help="worker processes for big trees (default: CPUs)"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="ask the Reactor API (REACTOR_API_URL) whether each rp_/rk_ key found is live, revoked, expired or "
        "invalid: sends each key found to that API (opt-in; see docs/scanning.md)",
    )
    # -- depth: archives and decoding (issue 17; docs/scanning.md, "Archives and encodings") --
    p.add_argument("--no-archives", action="store_true", help="do not open archives and compressed files")
    p.add_argument("--no-decode", action="store_true", help="do not decode base64 or escaped text")
    p.add_argument(
        "--max-decode-depth", type=int, default=None, metavar="N", help="levels of encoding to decode (default: 1)"
    )
    p.add_argument(
        "--archive-max-depth", type=int, default=None, metavar="N", help="archives within archives (default: 4)"
    )
    p.add_argument(
        "--archive-max-bytes",
        type=int,
        default=None,
        metavar="BYTES",
        help="decompressed bytes read per archive, all levels (default: 2 GiB)",
    )
    p.add_argument(
        "--archive-max-ratio",
        type=int,
        default=None,
        metavar="N",
        help="largest decompressed/compressed ratio before a member is cut off (default: 200)",
    )
    # -- end of depth --
    p.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    p.add_argument("--no-annotations", action="store_true", help="no ::error lines even inside GitHub Actions")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    p.add_argument("-v", "--verbose", action="store_true", help="list skipped files on stderr")
    _add_team_arguments(p)


def _add_team_arguments(p: argparse.ArgumentParser) -> None:
    """The repo config, exit-code control, stdin and CI summary options (docs/scanning.md)."""
    p.add_argument(
        "--config",
        metavar="PATH",
        help="read the scan config from PATH (default: .reactor-ci.toml or pyproject.toml's "
        "[tool.reactor-ci.scan], found from the scan root up to the repository top)",
    )
    p.add_argument("--no-config", action="store_true", help="ignore any config file")
    p.add_argument(
        "--exit-code",
        type=int,
        default=None,
        metavar="N",
        help="exit N when there are findings (default: 1); errors always exit 2",
    )
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings; errors still exit 2")
    p.add_argument(
        "--stdin-name",
        metavar="NAME",
        default=None,
        help="the path reported for findings in stdin (`reactor-ci scan -`; default: stdin)",
    )
    p.add_argument(
        "--step-summary",
        metavar="FILE",
        help="append a Markdown summary (findings per rule and file, redacted) to FILE, e.g. $GITHUB_STEP_SUMMARY",
    )


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, minus its ``import shutil`` for the terminal width.

    argparse builds a formatter for every ``add_argument``, and the default one
    imports shutil (with bz2, lzma and fnmatch): ~2.5 ms of every pre-commit
    batch in a clean virtualenv, for help text that is almost never printed.
    """

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


def build_parser(prog: str = "reactor-ci-scan") -> argparse.ArgumentParser:
    from reactor_ci.argparsing import SafeArgumentParser

    # Never echoes an argument's value (a key pasted as an unknown argument), and
    # no abbreviations: `--base` must not silently mean --baseline.
    p = SafeArgumentParser(
        prog=prog,
        formatter_class=_HelpFormatter,
        description="Find leaked Reactor keys (rp_/rk_), Reactor credentials files and Docker "
        "registry logins. Exit 0: clean, 1: findings, 2: usage error.",
    )
    _add_arguments(p)
    from reactor_ci import __version__

    p.add_argument("--version", action="version", version=f"{prog} {__version__}")
    return p


def add_commands(subparsers: Any) -> None:
    """Add ``scan`` to the top-level ``reactor-ci`` parser (import-light on purpose).

    argparse builds a sub-parser of the top-level parser's class: reactor-ci's
    is a SafeArgumentParser, and ``scan`` must be one too (tests check it).
    """
    p = subparsers.add_parser(
        "scan",
        help="find leaked Reactor keys in files or git history",
        description="Find leaked Reactor keys (rp_/rk_), Reactor credentials files and Docker "
        "registry logins. Exit 0: clean, 1: findings, 2: usage error.",
    )
    _add_arguments(p)
    p.set_defaults(func=run)


def _err(msg: str) -> None:
    """A human line on stderr: secrets scrubbed, every line inert for CI log parsers."""
    from reactor_ci.console import stderr

    stderr(msg)


def _report_error(exc: ReactorCIError) -> int:
    """The common error format of every reactor-ci command (message, ``fix:``, CI annotation)."""
    from reactor_ci import ci, console

    try:
        provider = ci.detect()
    except ValueError:  # an unknown REACTOR_CI_PROVIDER: still report the error itself
        provider = None
    if provider is not None and provider.name != "local":
        console.set_provider(provider)
    console.error(exc.message + (f"\n  fix: {exc.fix}" if exc.fix else ""))
    return int(exc.exit_code)


def _depth(args: argparse.Namespace) -> Any:
    """The scan's :class:`~reactor_ci.scan.parallel.Depth` from the depth flags (archives, decoding, limits)."""
    from reactor_ci.scan.parallel import Depth

    decode_depth = 1 if args.max_decode_depth is None else args.max_decode_depth
    if decode_depth < 0 or decode_depth > 8:
        raise UsageError("--max-decode-depth must be between 0 and 8", "e.g. --max-decode-depth 2")
    limits = None
    given = {
        "max_depth": args.archive_max_depth,
        "max_total_bytes": args.archive_max_bytes,
        "max_ratio": args.archive_max_ratio,
    }
    if any(v is not None for v in given.values()):
        from reactor_ci.scan.archive import Limits

        try:
            limits = Limits(**{k: v for k, v in given.items() if v is not None})
        except ValueError:
            raise UsageError(
                "--archive-max-depth, --archive-max-bytes and --archive-max-ratio must be positive numbers",
                "e.g. --archive-max-depth 2 --archive-max-bytes 1073741824",
            ) from None
    return Depth(archives=not args.no_archives, decode_depth=0 if args.no_decode else decode_depth, limits=limits)


def _collect(args: argparse.Namespace, rules: Any, max_size: int) -> tuple[list[Any], list[Any], int]:
    from reactor_ci.scan import engine

    depth = _depth(args)
    skipped: list[engine.Skipped] = []
    if getattr(args, "image", None) is not None:  # `--image REF`: reactor_ci/scan/image.py
        from reactor_ci.scan.image import collect_image

        return collect_image(args, rules, max_size)
    if args.since or args.all_history or args.pre_push:
        from reactor_ci.scan import sources

        if args.all_history:
            revs = ["--all"]
        elif args.since:
            if args.since.startswith("-"):
                raise UsageError(f"--since {args.since!r} is not a revision", "pass e.g. --since origin/main")
            revs = [f"{args.since}..HEAD"]
        else:
            revs = sources.pre_push_range()
        findings: list[engine.Finding] = []
        count = 0
        if revs:
            # Two decoding levels hide even the base64 signatures: no pickaxe prefilter then.
            decode = depth.decode_depth
            pickaxe = engine.pickaxe_pattern(rules, decode=decode == 1) if decode < 2 else None
            for added in sources.history(revs, pickaxe):
                count += 1
                findings.extend(
                    engine.scan_bytes(
                        added.data,
                        added.path,
                        rules,
                        line_map=added.line_map,
                        commit=added.commit,
                        fragment=True,  # added lines of a file: JSON rules apply mid-document
                        decode_depth=depth.decode_depth,
                    )
                )
            if depth.archives:
                count += _history_archives(revs, rules, depth, findings, skipped)
        return findings, skipped, count
    if args.staged:
        from reactor_ci.scan import sources

        findings = []
        count = 0
        for path, blob, why in sources.staged_blobs(max_size):
            if blob is None:
                skipped.append(engine.Skipped(path, why or "unreadable"))
                continue
            count += 1
            if depth.archives and engine.archive_kind(blob[:512]) is not None:
                from reactor_ci.scan import archive

                # A staged archive, read by object id like any staged file.
                notes: list[engine.Skipped] = []
                found = archive.scan_data(
                    blob, path, rules, limits=depth.limits, notes=notes, decode_depth=depth.decode_depth
                )
                findings.extend(found)
                skipped.extend(notes)
                continue
            text = engine.prepare(blob)
            if text is None:
                skipped.append(engine.Skipped(path, "binary"))
                continue
            findings.extend(engine.scan_bytes(text, path, rules, decode_depth=depth.decode_depth))
        return findings, skipped, count
    if args.paths == ["-"]:
        return _scan_stdin(args, rules, max_size, depth)
    if args.all:
        from reactor_ci.scan import sources

        paths = sources.tracked_files()
    else:
        paths = args.paths or ["."]
        _check_paths(paths)
    findings, count = engine.scan_paths(
        paths, rules, max_size=max_size, skipped=skipped, workers=args.jobs, depth=depth
    )
    return findings, skipped, count


def _history_archives(revs: list[str], rules: Any, depth: Any, findings: list[Any], skipped: list[Any]) -> int:
    """Keys in the archives the commits added (git shows no lines for them); returns how many were read."""
    from reactor_ci.scan import archive, sources
    from reactor_ci.scan.finding import Skipped

    entries = list(sources.history_archives(revs))
    limits = depth.limits or archive.Limits()
    seen = {(f.path, f.secret) for f in findings}
    where = {oid: (commit, path) for commit, path, oid in entries}
    count = 0
    for oid, blob, why in sources.read_blobs([oid for _, _, oid in entries], limits.max_buffer):
        commit, path = where[oid]
        if blob is None:
            skipped.append(Skipped(path, f"{archive.NOTE_PREFIX}{why}"))
            continue
        count += 1
        notes: list[Any] = []
        for f in archive.scan_data(
            blob, path, rules, limits=limits, notes=notes, decode_depth=depth.decode_depth, commit=commit
        ):
            if (f.path, f.secret) not in seen:  # oldest commit first: the one that added the key
                seen.add((f.path, f.secret))
                findings.append(f)
        skipped.extend(notes)
    return count


# -- repo config, allowlists, exit codes, stdin, step summary (issue 21) ----------------------------------
_RESERVED_EXIT_CODES = range(2, 6)  # usage, auth, API, Docker: errors keep their own codes


def _team_setup(args: argparse.Namespace) -> Any:
    """Check the exit-code and stdin options, then read the repo config (its limits become flags)."""
    if args.exit_code is not None and (not 0 <= args.exit_code <= 125 or args.exit_code in _RESERVED_EXIT_CODES):
        raise UsageError(
            f"--exit-code {args.exit_code}: must be 0, 1 or 6-125 (2-5 are kept for errors)",
            "e.g. --exit-code 0 (or --exit-zero) to report without failing, or leave it out for 1",
        )
    if "-" in args.paths and args.paths != ["-"]:
        raise UsageError("`-` (stdin) cannot be combined with other paths", "scan stdin and the paths in two runs")
    if args.stdin_name is not None and args.paths != ["-"]:
        raise UsageError(
            "--stdin-name needs `-` (stdin) as the path", "e.g. git diff | reactor-ci scan - --stdin-name diff"
        )
    if args.stdin_name is not None and (not args.stdin_name or len(args.stdin_name) > 4096 or "\0" in args.stdin_name):
        raise UsageError("--stdin-name must be 1 to 4096 characters", "e.g. --stdin-name build.log")
    if args.config is not None and args.no_config:
        raise UsageError("--config and --no-config cannot be combined")
    from reactor_ci.scan.config import discover

    config = discover(_scan_root(args), args.config, disabled=args.no_config)
    config.apply_to_args(args)
    return config


def _scan_root(args: argparse.Namespace) -> str:
    """Where the config search starts (reactor_ci.scan.configsearch.scan_root)."""
    from reactor_ci.scan.configsearch import scan_root

    return scan_root(args.paths)


def _allowlist(args: argparse.Namespace, config: Any, findings: list[Any]) -> tuple[list[Any], int]:
    """The config's allowlists: the ONE filter (reactor_ci.scan.allow), which counts what it drops."""
    if config.path is None or not findings:
        return findings, 0
    from reactor_ci.scan.allow import Allowlist

    base = None
    if config.exclude_paths and (args.staged or args.since or args.all_history or args.pre_push):
        from reactor_ci.scan.sarif import RepoBase

        base = RepoBase([], from_top=True).root  # these modes report paths from the repository top
    allow = Allowlist(config, base)
    return allow.apply(findings) if allow else (findings, 0)


def _scan_stdin(args: argparse.Namespace, rules: Any, max_size: int, depth: Any) -> tuple[list[Any], list[Any], int]:
    """``reactor-ci scan -``: the bytes on stdin, at most --max-size of them, as one file (or one archive)."""
    from reactor_ci.scan import engine
    from reactor_ci.scan.files import archive_kind

    name = args.stdin_name or "stdin"
    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        raise UsageError(
            f"stdin holds more than {max_size} bytes (--max-size)",
            f"raise --max-size (e.g. --max-size {max_size * 4}), or scan the file by its path",
        )
    if depth.archives and archive_kind(data[:512]) is not None:  # `cat bundle.tgz | reactor-ci scan -`
        from reactor_ci.scan import archive

        notes: list[Any] = []
        found = list(
            archive.scan_data(data, name, rules, limits=depth.limits, notes=notes, decode_depth=depth.decode_depth)
        )
        return found, notes, 1
    text = engine.prepare(data)
    if text is None:
        return [], [engine.Skipped(name, "binary")], 1
    return engine.scan_bytes(text, name, rules, decode_depth=depth.decode_depth), [], 1


def _exit_status(args: argparse.Namespace, findings: Sequence[Any]) -> int:
    if not findings or args.exit_zero:
        return ExitCode.OK
    return int(ExitCode.FINDINGS if args.exit_code is None else args.exit_code)


def _write_step_summary(path: str, findings: Sequence[Any], count: int, allowlisted: int, config: Any) -> None:
    from reactor_ci.scan.stepsummary import markdown

    note = ""
    if allowlisted:
        from reactor_ci.scan.allow import summary

        note = summary(allowlisted, config)
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown(findings, count, note))
    except OSError as exc:
        from reactor_ci.logsafe import line

        raise UsageError(f"cannot write {line(path)}: {exc.strerror}", "pass --step-summary a writable file") from None


def _check_paths(paths: Sequence[str]) -> None:
    """A path given on the command line must exist: a typo must not pass as "clean"."""
    for path in paths:
        try:
            os.lstat(path)
        except FileNotFoundError:
            from reactor_ci.logsafe import line

            raise UsageError(
                f"{line(path)}: no such file or directory",
                "pass an existing file or directory (paths are relative to the current directory)",
            ) from None
        except OSError as exc:
            from reactor_ci.logsafe import line

            raise UsageError(f"{line(path)}: cannot be read ({exc.strerror})", "check its permissions") from None


def _list_rules() -> int:
    from reactor_ci.scan.rules import RULES

    for rule in RULES:
        sys.stdout.write(f"{rule.id:28} {rule.description}\n")
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    """Run a parsed scan command; returns the exit code.

    A :class:`ReactorCIError` propagates: ``reactor-ci scan`` reports it like
    every other command, and :func:`main` (``reactor-ci-scan``) the same way.
    """
    for stream in (sys.stdout, sys.stderr):
        # A redacted key prints as "rp_…wxyz": never crash on an ASCII-only console.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return _run(args)
    except BrokenPipeError:
        # `reactor-ci-scan | head`: the reader left; don't print a traceback on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.FINDINGS


def _run(args: argparse.Namespace) -> int:
    if args.list_rules:
        return _list_rules()
    if args.paths and (args.staged or args.all or args.since or args.all_history or args.pre_push):
        raise UsageError("paths cannot be combined with --staged/--all/--since/--all-history/--pre-push")
    config = _team_setup(args)
    from reactor_ci.scan import engine
    from reactor_ci.scan.rules import rule_ids

    disabled = [*args.disable_rule, *config.disable_rules]
    unknown = sorted(set(disabled) - set(rule_ids()))
    if unknown:
        raise UsageError(f"unknown rule {', '.join(unknown)}", f"known rules: {', '.join(rule_ids())}")
    if args.no_stripe:
        disabled.append("stripe-restricted-key")
    max_size = engine.DEFAULT_MAX_SIZE if args.max_size is None else args.max_size
    if max_size <= 0:
        raise UsageError("--max-size must be a positive number of bytes", "e.g. --max-size 5242880 (5 MiB)")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1", "e.g. --jobs 2, or leave it out for one per CPU")
    rules = engine.compile_rules(config.rules(), disabled=disabled)

    started = time.perf_counter()
    findings, skipped, count = _collect(args, rules, max_size)
    if args.exclude:
        try:
            excludes = [re.compile(x) for x in args.exclude]
        except re.error as exc:
            raise UsageError(f"--exclude: bad regular expression ({exc})") from None
        findings = [f for f in findings if not any(x.search(f.path) for x in excludes)]
    findings, allowlisted = _allowlist(args, config, findings)

    baseline_path = args.baseline
    if baseline_path is None and not args.no_baseline and not args.update_baseline:
        default = engine.DEFAULT_BASELINE
        baseline_path = default if os.path.isfile(default) else None
    if args.update_baseline:
        from reactor_ci.scan import baseline

        target = baseline_path or baseline.DEFAULT_BASELINE
        n = baseline.save(target, findings)
        _err(f"reactor-ci-scan: wrote {n} finding(s) to {target}; commit it to accept them")
        return ExitCode.OK
    suppressed = 0
    if baseline_path and not args.no_baseline:
        from reactor_ci.scan import baseline

        before = len(findings)
        findings = baseline.filter_known(findings, baseline.load(baseline_path))
        suppressed = before - len(findings)

    if args.verify and findings:
        from reactor_ci.logsafe import line
        from reactor_ci.scan.verify import verify_findings

        _err(f"reactor-ci-scan: {line(verify_findings(findings).summary())}")
    from_top = bool(args.staged or args.since or args.all_history or args.pre_push)  # paths from the repo top
    if args.format == "gitlab":
        from reactor_ci.scan.allow import summary
        from reactor_ci.scan.gitlab import to_gitlab

        note = summary(allowlisted, config) if allowlisted else ""
        report = to_gitlab(findings, from_top=from_top, seconds=time.perf_counter() - started, note=note)
    else:
        report = _render(args.format, findings, skipped, count, from_top=from_top)
    if args.output:
        _write_report(args.output, report)
    else:
        sys.stdout.write(report)
    from reactor_ci.scan.report import fix_lines, github_annotations, in_github_actions

    if findings and args.format != "github" and not args.no_annotations and in_github_actions():
        # Workflow commands are read from stdout; keep JSON/SARIF on stdout parseable.
        stream = sys.stdout if args.format == "text" and not args.output else sys.stderr
        stream.write(github_annotations(findings, from_top=from_top))
    if args.step_summary:
        _write_step_summary(args.step_summary, findings, count, allowlisted, config)
    if args.verbose:
        from reactor_ci.logsafe import line

        for s in skipped:
            _err(f"skipped {line(s.path)}: {s.reason}")
    if not args.quiet:
        elapsed = (time.perf_counter() - started) * 1000
        extra = f", {suppressed} in baseline" if suppressed else ""
        from reactor_ci.scan.finding import ARCHIVE_NOTE

        cut = sum(1 for s in skipped if s.reason.startswith(ARCHIVE_NOTE))
        extra += f", {cut} archive member(s) skipped or cut off (-v lists them)" if cut else ""
        if allowlisted:
            from reactor_ci.scan.allow import summary

            extra += f", {summary(allowlisted, config)}"
        _err(
            f"reactor-ci-scan: {len(findings)} finding(s) in {count} file(s){extra}, "
            f"{len(skipped)} skipped, {elapsed:.0f} ms"
        )
    for fix in fix_lines(findings):  # even with --quiet: pre-commit shows it on failure
        _err(fix)
    return _exit_status(args, findings)


def _write_report(path: str, report: str) -> None:
    """Replace ``path`` atomically (no half-written report); a FIFO or device is written in place."""
    try:
        import stat

        try:
            special = not stat.S_ISREG(os.stat(path).st_mode)
        except FileNotFoundError:
            special = False
        if special:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(report)
            return
        from reactor_ci.fsutil import atomic_write_text

        mask = os.umask(0)
        os.umask(mask)
        # A report holds redacted findings only: the usual 0666 & ~umask, not 0600.
        atomic_write_text(path, report, mode=0o666 & ~mask)
    except OSError as exc:
        from reactor_ci.logsafe import line

        raise UsageError(
            f"cannot write {line(path)}: {exc.strerror}", "pass --output a path in a writable directory"
        ) from None


def _render(fmt: str, findings: Sequence[Any], skipped: Sequence[Any], count: int, *, from_top: bool = False) -> str:
    if fmt == "text":
        from reactor_ci.scan.report import text_report

        return text_report(findings)
    from reactor_ci.scan.report import render

    return render(fmt, findings, skipped, count, from_top=from_top)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
            return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
        return run(args)
    except ReactorCIError as exc:  # also a parser whose error() raises UsageError
        return _report_error(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
