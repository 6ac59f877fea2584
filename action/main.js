// The action's main step: the inputs, as env, to action/main.sh (the bash that ran as the composite
// step before: masking first, then the bundled Python set-up, then `reactor-ci auth`, where every input
// rule lives). Dependency-free on purpose: nothing to bundle, nothing to audit but these lines.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const env = { ...process.env };
// The runner hands inputs as INPUT_<NAME> with the name's '-' kept (INPUT_API-KEY): bash cannot read those.
// Each becomes INPUT_<NAME with '_'>; the key and the URL get the names reactor-ci reads, and the key
// exists once in the child's env (the set-up runs without it).
for (const name of Object.keys(process.env)) {
  if (name.startsWith('INPUT_') && name.includes('-')) {
    env[name.replace(/-/g, '_')] = process.env[name];
    delete env[name];
  }
}
env.REACTOR_API_KEY = env.INPUT_API_KEY || '';
delete env.INPUT_API_KEY;
env.REACTOR_API_URL = env.INPUT_API_URL || '';
env.INPUT_PYTHON = env.INPUT_PYTHON || 'python3';
env.GITHUB_ACTION_PATH = root; // set for composite actions only: main.sh finds the bundle with it

const child = spawnSync('bash', ['--noprofile', '--norc', path.join(__dirname, 'main.sh')], {
  env,
  stdio: 'inherit',
});
if (child.error) {
  // One line, escaped as @actions/core does.
  const text = `cannot run bash: ${child.error.message}`.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  process.stdout.write(`::error title=Reactor auth::${text}\n`);
}
process.exitCode = child.status === null ? 1 : child.status;
