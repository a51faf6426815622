// The admin console in a real headless Chromium (Debian's chromium, driven by playwright-core), with axe-core run in
// every page. Run by tests/Memobase.Server.Tests/AdminUi/AdminConsoleBrowserTests.cs, which starts the server, seeds
// the data through the API and passes what to expect in environment variables. Exit code 0 = every check passed.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};
const BASE = env('ADMIN_BASE_URL');
const ROOT_TOKEN = env('ADMIN_ROOT_TOKEN');
const PROJECT = env('ADMIN_PROJECT');
const PROJECT_TOKEN = env('ADMIN_PROJECT_TOKEN');
const OTHER_PROJECT = env('ADMIN_OTHER_PROJECT');
const OTHER_USER = env('ADMIN_OTHER_USER');
const USER = env('ADMIN_USER');
const EXPECT_PROFILE = env('ADMIN_EXPECT_PROFILE');
const EXPECT_EVENT = env('ADMIN_EXPECT_EVENT');
const FAILED_JOB = env('ADMIN_FAILED_JOB');
const EXPECT_ERROR = env('ADMIN_EXPECT_ERROR');
const WEBHOOK_URL = env('ADMIN_WEBHOOK_URL');
const SHOTS = env('ADMIN_SCREENSHOTS');
const CHROMIUM = env('ADMIN_CHROMIUM');

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
mkdirSync(SHOTS, { recursive: true });

let checks = 0;
const axeSummary = [];
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  checks++;
  console.log(`ok ${checks} - ${message}`);
}

const WIDTHS = [1280, 390];

/** WCAG 2.1 A/AA rules plus heading order and one h1; screenshots at both widths. */
async function inspect(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
    const { overflow, culprits } = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > width + 1
        && (!e.closest('.table-wrap') || getComputedStyle(e).position === 'absolute')).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
      return { overflow: document.documentElement.scrollWidth - width, culprits: wide.join(', ') };
    });
    check(overflow <= 0, `${name} at ${width} px: the page itself does not scroll sideways (overflow ${overflow} px) ${culprits}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // evaluated through the DevTools protocol: the pages' Content-Security-Policy allows no script at all
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const results = await page.evaluate(async () => {
    const wcag = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    const structure = await window.axe.run(document, { runOnly: { type: 'rule', values: ['heading-order', 'page-has-heading-one', 'landmark-one-main'] } });
    const all = [...wcag.violations, ...structure.violations];
    return {
      passes: wcag.passes.length + structure.passes.length,
      contrastChecked: wcag.passes.some((r) => r.id === 'color-contrast') || wcag.violations.some((r) => r.id === 'color-contrast'),
      violations: all.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`),
    };
  });
  axeSummary.push(`${name}: ${results.passes} rules passed, ${results.violations.length} violations`);
  check(results.violations.length === 0, `${name}: axe-core finds no WCAG 2.1 A/AA or heading violations\n  ${results.violations.join('\n  ')}`);
  check(results.contrastChecked, `${name}: axe-core checked text contrast`);
  // Every button can be reached with the keyboard (focusable, not taken out of the tab order).
  const unreachable = await page.evaluate(() => [...document.querySelectorAll('button, summary')]
    .filter((b) => b.tabIndex < 0 || b.disabled).map((b) => b.outerHTML.slice(0, 80)));
  check(unreachable.length === 0, `${name}: every button is in the tab order ${unreachable.join(' ')}`);
}

async function signIn(page, token, returnPath) {
  await page.goto(`${BASE}${returnPath}`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('domcontentloaded');
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
try {
  // 1. Sign in with the root token (after being sent to the login page).
  const root = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await root.newPage();
  await page.goto(`${BASE}/admin`);
  check(page.url() === `${BASE}/admin/login?returnUrl=%2Fadmin`, `an unsigned visit to /admin lands on the login page (${page.url()})`);
  await inspect(page, 'login');
  await page.getByLabel('Access token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  check((await page.getByRole('alert').textContent()).includes('Sign-in failed'), 'a wrong token is refused with a message');
  await page.getByLabel('Access token').fill(ROOT_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/admin`);
  check((await page.locator('header').textContent()).includes('Signed in as root'), 'signed in with the root token, back on /admin');
  const cookies = await root.cookies();
  const session = cookies.find((c) => c.name === 'memobase_admin');
  check(session && session.httpOnly && session.sameSite === 'Strict' && session.expires > Date.now() / 1000,
    'the session cookie is HttpOnly, SameSite=Strict and expires');
  check(await page.locator('svg[role="img"] rect').count() > 0, 'the overview draws the token chart as SVG bars');
  check((await page.locator('main').textContent()).includes('Top projects by tokens'), 'the overview lists the top projects by tokens');
  await inspect(page, 'overview');

  // 2. Find the user whose buffer was flushed through the fake LLM; the profile and the event are on its page.
  await page.getByRole('link', { name: 'Users', exact: true }).click();
  await page.getByLabel('Search user id').fill(USER.slice(0, 13));
  await page.getByRole('button', { name: 'Search' }).click();
  await inspect(page, 'users');
  await page.getByRole('link', { name: USER }).click();
  await page.waitForURL(new RegExp(`/admin/users/${USER}`));
  const userText = await page.locator('main').textContent();
  check(userText.includes(EXPECT_PROFILE), `the user page shows the profile content "${EXPECT_PROFILE}"`);
  check(userText.includes(EXPECT_EVENT), `the user page shows the event "${EXPECT_EVENT}"`);
  check(await page.getByRole('heading', { name: 'Profile (', exact: false }).count() === 1, 'the profile is a section of the user page');
  await inspect(page, 'user');

  // 3. Open the failed job, press Retry (with the keyboard) and see it done.
  await page.goto(`${BASE}/admin/jobs?status=failed`);
  await inspect(page, 'jobs');
  await page.getByRole('link', { name: FAILED_JOB.slice(0, 8) }).click();
  await page.waitForURL(`${BASE}/admin/jobs/${FAILED_JOB}`);
  check((await page.locator('#job-status').textContent()).trim() === 'failed', 'the job page shows the job as failed');
  check((await page.locator('main').textContent()).includes(EXPECT_ERROR), `the job page shows the attempt's error "${EXPECT_ERROR}"`);
  await inspect(page, 'job-failed');
  const retry = page.getByRole('button', { name: 'Retry' });
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await retry.evaluate((b) => b === document.activeElement);
  }
  check(reached, 'the Retry button is reached with the Tab key');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${BASE}/admin/jobs/${FAILED_JOB}?retried=true`);
  let status = '';
  for (let i = 0; i < 90 && status !== 'done'; i++) {
    await page.waitForTimeout(500);
    await page.reload();
    status = (await page.locator('#job-status').textContent()).trim();
  }
  check(status === 'done', `after Retry the job is done (last seen: ${status})`);
  check(await page.getByRole('button', { name: 'Retry' }).count() === 0, 'a done job has no Retry button');
  const callTables = page.locator('table.llm-calls');
  check(await callTables.count() >= 1, 'the job page lists the LLM calls of its attempts');
  const doneCalls = await callTables.last().textContent();
  check(doneCalls.includes('chat') && doneCalls.includes('ok') && /\d+ ms/.test(doneCalls),
    'the done attempt shows its chat calls with outcome ok and their durations');
  await inspect(page, 'job');

  // 4. Invalid YAML in a project's config: the error is shown next to the text and the stored config is unchanged.
  await page.goto(`${BASE}/admin/projects`);
  await inspect(page, 'projects');
  await page.getByRole('link', { name: PROJECT, exact: true }).click();
  const editor = page.getByLabel('profile_config');
  const before = await editor.inputValue();
  check(before.includes('language'), 'the project page shows the stored profile_config');
  await editor.fill('overwrite_user_profiles:\n  - topic: [unclosed\n');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  const error = page.locator('#config-error');
  check(await error.count() === 1 && (await error.textContent()).includes('Invalid profile config'), 'the YAML error is shown');
  check(await editor.getAttribute('aria-invalid') === 'true' && (await editor.getAttribute('aria-describedby')).includes('config-error'),
    'the error is tied to the text field');
  await inspect(page, 'project-config-error');
  await page.goto(`${BASE}/admin/projects/${PROJECT}`);
  check(await page.getByLabel('profile_config').inputValue() === before, 'after reloading the page the config is unchanged');
  const stored = await (await fetch(`${BASE}/api/v1/project/profile_config`, { headers: { Authorization: `Bearer ${PROJECT_TOKEN}` } })).json();
  check(stored.data.profile_config === before, 'the API returns the unchanged config');
  const webhooks = await page.locator('#webhooks').textContent();
  check(webhooks.includes(WEBHOOK_URL), 'the project page lists the webhook endpoint');
  check(webhooks.includes('disabled') && webhooks.includes('disabled through the API'), 'a disabled webhook endpoint shows why');
  check((await page.locator('#webhook-deliveries').textContent()).includes('webhook.test'), 'the recent webhook deliveries list the test message');
  await inspect(page, 'project');

  await page.goto(`${BASE}/admin/buffers?state=all`);
  check((await page.locator('tbody tr').count()) > 0, 'the buffers page lists conversation messages');
  await inspect(page, 'buffers');

  // 7. A form post without the antiforgery token is refused (same session cookie, no token).
  const forged = await page.request.post(`${BASE}/admin/projects/${PROJECT}?handler=Status`, { form: { status: 'suspended' }, maxRedirects: 0 });
  check(forged.status() === 400, `a form post without the antiforgery token is refused (HTTP ${forged.status()})`);
  const project = await (await fetch(`${BASE}/admin/v1/projects`, { headers: { Authorization: `Bearer ${ROOT_TOKEN}` } })).json();
  check(project.data.find((p) => p.project_id === PROJECT).status !== 'suspended', 'the refused post changed nothing');

  // Signing out ends the session.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/admin\/login/);
  await page.goto(`${BASE}/admin/jobs`);
  check(page.url().startsWith(`${BASE}/admin/login`), 'after signing out, pages send back to the login page');
  await root.close();

  // 5. A project token cannot see another project's users, not even by typing the URL.
  const owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ownerPage = await owner.newPage();
  await signIn(ownerPage, PROJECT_TOKEN, '/admin/login');
  check((await ownerPage.locator('header').textContent()).includes(`Signed in as ${PROJECT}`), `signed in with the token of ${PROJECT}`);
  await ownerPage.goto(`${BASE}/admin/users`);
  check(!(await ownerPage.locator('main').textContent()).includes(OTHER_USER), `the user list of ${PROJECT} does not show ${OTHER_PROJECT}'s user`);
  for (const path of [`/admin/users/${OTHER_USER}`, `/admin/users/${OTHER_USER}?project=${OTHER_PROJECT}`]) {
    const response = await ownerPage.goto(`${BASE}${path}`);
    check(response.status() === 404 && (await ownerPage.locator('h1').textContent()) === 'User not found', `typing ${path} gives 404`);
  }
  await ownerPage.goto(`${BASE}/admin/buffers?state=all&user=${OTHER_USER}`);
  check(await ownerPage.locator('tbody tr').count() === 0, `the buffers of ${OTHER_PROJECT}'s user are not listed`);
  const denied = await ownerPage.goto(`${BASE}/admin/projects`);
  check(denied.status() === 403, 'a project token cannot open the projects page');
  await owner.close();

  // 6. A request without a session is sent to the login page.
  const anonymous = await browser.newContext();
  const anonymousPage = await anonymous.newPage();
  await anonymousPage.goto(`${BASE}/admin/jobs/${FAILED_JOB}`);
  check(anonymousPage.url() === `${BASE}/admin/login?returnUrl=%2Fadmin%2Fjobs%2F${FAILED_JOB}`, `no session: sent to the login page (${anonymousPage.url()})`);
  await anonymous.close();
} finally {
  await browser.close();
}
console.log(axeSummary.map((s) => `# axe ${s}`).join('\n'));
console.log(`# all ${checks} checks passed`);
