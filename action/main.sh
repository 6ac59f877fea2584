#!/usr/bin/env bash
# The action's main step (run by action/main.js, which only maps the inputs to this env):
#   REACTOR_API_KEY, REACTOR_API_URL, INPUT_DOCKER_LOGIN, INPUT_TOKEN_LIFETIME, INPUT_PYTHON, INPUT_LOGOUT,
#   GITHUB_ACTION_PATH (the action's root).
# Inputs arrive through env only: no expression is ever expanded inside this script.
set -euo pipefail
die() { # message [exit code]
  local text="${1//%/%25}"
  printf '::error title=Reactor auth::%s\n' "${text//$'\n'/%0A}" >&2
  # act (0.2.89, host mode) drops the last lines of a step that exits at once.
  sleep 0.1
  exit "${2:-2}"
}

# Mask the key (each of its lines) before anything else can print.
printf '%s\n' "${REACTOR_API_KEY:-}" | while IFS= read -r line; do
  if [ -n "${line//[[:space:]]/}" ]; then printf '::add-mask::%s\n' "${line//%/%25}" >&2; fi
done

# reactor-ci run by this step knows it runs inside the action (its doctor leaves out what only restates a
# failed login, and gives fixes that fit here). Not exported to later steps: those are the user's.
export REACTOR_CI_FRONTEND=github-action

if [ "${RUNNER_OS:-}" = "Windows" ]; then
  die "Windows runners are not supported: the credential helper and the job-scoped Docker config need a Linux or macOS runner. Run this job on ubuntu-latest (runs-on: ubuntu-latest)."
fi

# The logout input is read by the post step; checked here so a typo fails now, not silently at job end.
case "${INPUT_LOGOUT:-true}" in
  true|True|TRUE|false|False|FALSE) ;;
  *) die "The logout input must be true or false (default true: the post step removes the credentials at job end)." ;;
esac

key="${REACTOR_API_KEY:-}"
key="${key#"${key%%[![:space:]]*}"}"
if [ -z "$key" ]; then
  msg="The api-key input is empty: the secret it names is not set or not available to this run."
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request|pull_request_review|pull_request_review_comment)
      msg+=" This run is for a pull request: GitHub does not pass repository secrets to workflows run for pull requests from forks. Skip the step for forks (if: github.event.pull_request.head.repo.full_name == github.repository), or log in only on push to your branches." ;;
  esac
  if [ "${GITHUB_ACTOR:-}" = "dependabot[bot]" ]; then
    msg+=" Runs triggered by Dependabot read Dependabot secrets, not Actions secrets: add the key under Settings > Secrets > Dependabot."
  fi
  msg+=" Check the secret's name and pass it as api-key: secrets.REACTOR_API_KEY (inside the usual expression braces)."
  die "$msg"
fi

if [ -z "${RUNNER_TEMP:-}" ]; then
  die "RUNNER_TEMP is not set: this action runs only inside a GitHub Actions job." 1
fi
if ! command -v "$INPUT_PYTHON" >/dev/null 2>&1; then
  die "No '${INPUT_PYTHON}' on this runner. Install Python 3.10+ (e.g. with actions/setup-python before this step) or set the python input to an interpreter." 1
fi
# Offline set-up from the action's own bundle, in a fresh private directory (mkdtemp, 0700) that
# it prints; a second run in this job reuses only the directory this job's GITHUB_ENV named.
# It also puts $home/bin on later steps' PATH (reactor-ci and docker-credential-reactor, and only
# those: their `python` stays theirs) and hands them REACTOR_API_URL. The key never reaches it.
home="$(env -u REACTOR_API_KEY "$INPUT_PYTHON" -I "$GITHUB_ACTION_PATH/bundle/bootstrap.py" \
  --source "$GITHUB_ACTION_PATH" --github)" || { status=$?; sleep 0.1; exit "$status"; }
case "$home" in
  *$'\n'*) die "The set-up reported more than one directory: use a released tag of the action." 1 ;;
  "$RUNNER_TEMP"/reactor-ci.*) ;;
  *) die "The set-up with '${INPUT_PYTHON}' did not report its directory: is that a Python 3.10+ interpreter? Set the python input to one." 1 ;;
esac
# The post step (action/post.js) removes this directory at job end, whatever the outcome: the action's
# own state is the one place it reads it from (a later step cannot rewrite it, unlike env).
if [ -n "${GITHUB_STATE:-}" ]; then
  printf 'home=%s\n' "$home" >> "$GITHUB_STATE"
fi
# reactor-ci keeps its job-scoped files (credentials, the job's Docker config) under the CI's job
# temp dir: point that at the private directory, never at a shared path in $RUNNER_TEMP.
# The directory must still be ours right before anything runs from it (a swapped or linked
# directory in a shared RUNNER_TEMP would hand the key to someone else's program).
if [ -L "$home" ] || [ ! -d "$home" ] || [ ! -O "$home" ]; then
  die "The set-up directory $home is no longer this job's own (a link, or owned by another account): refusing to run from it. Use a runner whose RUNNER_TEMP only this job's account can write." 1
fi
export REACTOR_CI_HOME="$home"

# Everything else -- the key's kind and the flow it picks, docker-login, token-lifetime, the API
# URL -- is reactor-ci's: one home for each rule (reactor_ci/auth.py), messages naming "api-key input".
status=0
RUNNER_TEMP="$home" "$home/bin/reactor-ci" auth --key-name "api-key input" \
  --docker-login "${INPUT_DOCKER_LOGIN:-auto}" --token-lifetime "${INPUT_TOKEN_LIFETIME:-}" \
  --models="${INPUT_MODELS:-}" --sessions="${INPUT_SESSIONS:-}" --max-sessions="${INPUT_MAX_SESSIONS:-}" \
  --max-session-duration="${INPUT_MAX_SESSION_DURATION:-}" || status=$?
if [ "$status" -ne 0 ]; then
  case "$status" in
    3|4|5)  # auth, API or Docker: the doctor says why (docs/doctor.md), without a second annotation
      printf '::group::reactor-ci doctor: why the step failed\n' >&2
      RUNNER_TEMP="$home" "$home/bin/reactor-ci" doctor || true
      printf '::endgroup::\n' >&2 ;;
  esac
  sleep 0.1  # let act read reactor-ci's ::error:: line (see die)
  exit "$status"
fi
