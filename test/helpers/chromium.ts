/** Debian's chromium driven by playwright-core for the browser tests: headless, fresh profile, no background traffic. */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env['GIBBON_CHROMIUM'] ?? '/usr/bin/chromium';

/** Launches chromium with a profile in `profileDir`; `what` names the test in the error when chromium is missing. */
export async function launchChromium(profileDir: string, what: string, options: { offline?: boolean } = {}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: ${what} needs it. Install Debian's package with \`apt-get install -y chromium\` (.ci/run does), or set GIBBON_CHROMIUM to a Chromium executable.`,
    );
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    offline: options.offline ?? false,
  });
}
