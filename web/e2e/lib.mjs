// What every browser script here shares: reading its environment, its
// progress and checks, and running its body in Debian's chromium (through
// playwright-core) so that the browser is always closed and any failure
// exits non-zero.

import { chromium } from 'playwright-core';

// env is the environment variable k, else def; without either it throws.
export const env = (k, def) => {
  const v = process.env[k] ?? def;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};

// step prints a progress line, "STEP <s>" (the Go tests log them).
export const step = (s) => console.log(`STEP ${s}`);

// check throws msg unless cond holds.
export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// signIn signs page in at base with a username and password through the
// sign-in form, and waits for the page it lands on: next, else the board.
export async function signIn(page, base, user, password, next = '/') {
  await page.goto(base + (next === '/' ? '/signin' : `/signin?next=${next}`));
  await page.fill('#signin-password input[name=username]', user);
  await page.fill('#signin-password input[name=password]', password);
  await page.click('#signin-password button');
  await page.waitForURL(base + next);
}

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// run launches chromium (CHROMIUM, else /usr/bin/chromium; args are added
// to the usual flags) and awaits body(browser). A failure is printed on
// stderr. Then, pass or fail, it closes the browser, calls after (when
// given) and exits: 1 on failure, else 0.
export async function run(body, { args = [], after } = {}) {
  const browser = await chromium.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium'), args: [...chromiumArgs, ...args] });
  let failed = false;
  try {
    await body(browser);
  } catch (e) {
    failed = true;
    console.error(e.stack || String(e));
  } finally {
    await browser.close();
    after?.();
  }
  process.exit(failed ? 1 : 0);
}
