#!/usr/bin/env bash
# Remove what the login stored in THIS job: the private directory REACTOR_CI_HOME names (credentials,
# the job's Docker config, the venv). Used by the action's post step (action/post.js, which names the
# directory from the action's own state) and by the logout sub-action (logout/action.yml, from env).
# Idempotent: a job where the login never ran or failed passes too.
set -uo pipefail
title="${REACTOR_CI_LOGOUT_TITLE:-Reactor auth logout}"
# Only a directory the login step created: directly in RUNNER_TEMP, named like ours, a real directory we
# own. Never a reactor-ci found at a fixed path, which a previous job could have planted.
home="${REACTOR_CI_HOME:-}"
case "$home" in
  "${RUNNER_TEMP:-/nonexistent}"/reactor-ci.*) ;;
  *) home="" ;;
esac
if [ -n "$home" ] && [ "${home%/*}" != "${RUNNER_TEMP%/}" ]; then home=""; fi
if [ -z "$home" ] || [ -L "$home" ] || [ ! -d "$home" ] || [ ! -O "$home" ] \
  || [ ! -x "$home/bin/reactor-ci" ]; then
  echo "$title: reactor-ci was not set up in this job (or was removed already); nothing to remove."
  exit 0
fi
if ! RUNNER_TEMP="$home" "$home/bin/reactor-ci" logout; then
  printf '::warning title=%s::reactor-ci logout failed; the job directory was removed directly.\n' "$title" >&2
fi
# Everything secret the login stored lives in that directory: remove it whole.
rm -rf -- "$home"
echo "$title: removed the job's Reactor credentials and Docker config."
