// Shared by the MCP end-to-end programs (e2e.js, cimd-e2e.js): assertions that name what failed, a JWT's claims for
// the checks (test code: the tokens come straight from the server under test), and a time limit per step.

export class AssertionFailed extends Error {}

export function assert(condition, message) {
  if (!condition) throw new AssertionFailed(message);
}

export function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  assert(a === e, `${what}: expected ${e}, got ${a}`);
}

export function claims(jwt) {
  assert(typeof jwt === 'string' && jwt.split('.').length === 3, 'expected a JWT');
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** Rejects with AssertionFailed when `promise` takes longer than `timeoutMs`. */
export function withTimeout(promise, what, timeoutMs) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AssertionFailed(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
    }),
  ]);
}
