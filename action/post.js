// The action's post step: at job end, whatever the outcome (post-if: always()), remove what the main
// step stored (action/logout.sh). The directory comes from the main step's own state (STATE_home),
// never from env a later step could have changed. `logout: false` keeps it (RUNNER_TEMP is emptied
// after the job anyway on GitHub-hosted runners).
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const wanted = (process.env.INPUT_LOGOUT || 'true').trim().toLowerCase();
if (wanted === 'false') {
  process.stdout.write('Reactor auth: logout is false; the credentials stay until the job ends.\n');
} else {
  const env = { ...process.env, REACTOR_CI_HOME: process.env.STATE_home || '', REACTOR_CI_LOGOUT_TITLE: 'Reactor auth post' };
  const child = spawnSync('bash', ['--noprofile', '--norc', path.join(__dirname, 'logout.sh')], { env, stdio: 'inherit' });
  if (child.error) {
    // One line, escaped as @actions/core does.
    const text = `cannot run bash: ${child.error.message}`.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
    process.stdout.write(`::warning title=Reactor auth post::${text}\n`);
  }
  // A logout never fails the job: the login's outcome is the job's.
}
