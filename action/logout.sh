#!/usr/bin/env bash
# Remove what the login stored in THIS job: the private directory REACTOR_CI_HOME names. Everything
# secret the login wrote lives in it (the credentials file, the job's Docker config with its credHelpers
# entry, the venv), so removing it whole IS the logout; nothing from it is run. Used by the action's post
# step (action/post.js, which names the directory from the action's own saved state) and by the logout
# sub-action (logout/action.yml, from this job's env). Idempotent: a job where the login never ran, failed
# or was logged out already passes too.
set -uo pipefail
title="${REACTOR_CI_LOGOUT_TITLE:-Reactor auth logout}"
# Only a directory the set-up created: directly in RUNNER_TEMP, named like ours, a real directory (no
# symlink) owned by us, holding the set-up's marker. Never anything found at a fixed path.
home="${REACTOR_CI_HOME:-}"
temp="${RUNNER_TEMP:-}"
case "$home" in
  "${temp%/}"/reactor-ci.*) ;;
  *) home="" ;;
esac
if [ -n "$home" ] && { [ -z "$temp" ] || [ "${home%/*}" != "${temp%/}" ]; }; then home=""; fi
if [ -z "$home" ] || [ -L "$home" ] || [ ! -d "$home" ] || [ ! -O "$home" ] \
  || [ ! -f "$home/.reactor-ci-bootstrap.json" ]; then
  echo "$title: reactor-ci was not set up in this job (or was removed already); nothing to remove."
  exit 0
fi
if rm -rf -- "$home"; then
  echo "$title: Removed $home (the job's Reactor credentials and Docker config)."
else
  printf '::warning title=%s::could not remove %s completely; the runner empties RUNNER_TEMP after the job.\n' \
    "$title" "$home" >&2
fi
