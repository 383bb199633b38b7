// End-to-end: the README's quick start, exactly as written there (the ```js block between the quickstart markers),
// run as a program of its own that imports the package by its name ('keycloak-agent-auth'), for a fresh user instead
// of alice (the demo's users are never touched): this program plays the person at the keyboard. It opens the printed
// login link in Chromium, signs in, clicks Allow on the agent consent screen, pastes the address the browser lands on,
// opens the connect link the program prints, clicks Allow, signs in at upstream-saas as a fresh upstream user, and
// checks that the quick start prints that user's preferred_username (read through the proxy).
//
// stdout: one line `SDK-QUICKSTART-RESULT {json}`; exit 1 on failure. Environment as run.js.

import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  RUN,
  assert,
  assertEq,
  cfg,
  configure,
  connectInBrowser,
  createUser,
  here,
  launchBrowser,
  log,
  login,
  runMain,
  shot,
  step,
  summary,
  withTimeout,
} from './support.js';

configure({ tag: 'sdk-quickstart', resultName: 'SDK-QUICKSTART-RESULT' });

const pkg = path.resolve(here, '..', '..');

/** The quick start's JavaScript, as the README shows it. */
async function quickstartSource() {
  const readme = await readFile(path.join(pkg, 'README.md'), 'utf8');
  const block = readme.split('<!-- quickstart:begin -->')[1]?.split('<!-- quickstart:end -->')[0];
  assert(block, 'README.md has no quickstart markers');
  const js = block.match(/```js\n([\s\S]*?)```/)?.[1];
  assert(js, 'README.md quick start has no ```js block');
  const install = block.match(/```bash\n([\s\S]*?)```/)?.[1] ?? '';
  const jsLines = js.trimEnd().split('\n').length;
  const installLines = install.trimEnd().split('\n').filter((l) => l.trim() !== '').length;
  assert(jsLines + installLines <= 20, `the quick start has ${installLines} + ${jsLines} lines, more than 20`);
  summary.lines = { install: installLines, js: jsLines };
  return js.replace('http://localhost:8080/realms/agents-demo', cfg.issuer);
}

/** Runs the program; `onStderr` sees all its stderr so far after each chunk; resolves with its exit code and output. */
function runProgram(file, onStderr) {
  const child = spawn(process.execPath, [file], { cwd: path.dirname(file), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
    onStderr(err);
  });
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: out, stderr: err })));
  return { child, done };
}

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  const { user, up } = await step('setup', async () => {
    const user = await createUser(cfg.realm, `sdk-ts-qs-${RUN}`, 'Quick', `Start ${RUN}`);
    const up = await createUser(cfg.upstreamRealm, `sdk-ts-qs-${RUN}-cal`, 'Cal', `Start ${RUN}`);
    return { user, up };
  });
  const source = await quickstartSource();
  const dir = path.join(pkg, 'target', 'quickstart'); // inside the package: 'keycloak-agent-auth' resolves to it
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'quickstart.mjs');
  await writeFile(file, source);

  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    // nothing listens on http://localhost/callback (as for a developer trying the quick start): answer in the browser
    await browser.context.route('http://localhost/callback**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>callback</title><h1>Copy this address</h1>' }));
    let onLogin;
    let onConnect;
    const loginUrl = new Promise((r) => (onLogin = r));
    const connectUrl = new Promise((r) => (onConnect = r));
    let stderr = '';
    const program = runProgram(file, (all) => {
      stderr = all;
      const open = all.match(/Open (\S+)/);
      if (open) onLogin(open[1]);
      const connect = all.match(/(https?:\/\/\S+\/agent-auth\/connectors\/[^/\s]+\/connect\?\S*)/);
      if (connect) onConnect(connect[1]);
    });

    await step('login_consent_paste', async () => {
      const url = await withTimeout(loginUrl, 'the quick start prints the login link');
      const u = new URL(url);
      assertEq([u.searchParams.get('requested_actor'), u.searchParams.get('client_id'), u.searchParams.get('resource')], [cfg.agent, cfg.host, cfg.connectorUri], 'the quick start\'s login link');
      await page.goto(url);
      await login(page, user);
      await page.locator('#kc-agent-consent-form').waitFor();
      await shot(page, 'quickstart-consent');
      await page.click('#kc-agent-allow');
      await page.waitForURL((x) => x.href.startsWith('http://localhost/callback'));
      program.child.stdin.write(`${page.url()}\n`);
    });

    await step('connect_wait_call', async () => {
      const link = await withTimeout(connectUrl, 'the quick start prints the connect link');
      assert(link.startsWith(`${cfg.connectorUri}/connect?`), `connect link ${link}`);
      await connectInBrowser(page, link, up, 'quickstart');
      const { code, stdout } = await withTimeout(program.done, 'the quick start ends', 60_000);
      assertEq(code, 0, `the quick start's exit code (stderr: ${stderr.replace(/code=[^&\s]+/g, 'code=[code]').slice(0, 400)})`);
      assert(stdout.includes(`preferred_username: '${up.username}'`), `the quick start printed ${stdout.slice(0, 300)}`);
      assert(!/eyJ[A-Za-z0-9_-]{8,}\.eyJ/.test(stdout + stderr), 'the quick start printed a token');
      summary.printed = stdout.match(/preferred_username: '[^']*'/)?.[0];
    });
    summary.ok = true;
  } finally {
    await browser.close();
  }
  log('done');
}

await runMain(main);
