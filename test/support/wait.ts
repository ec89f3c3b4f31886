/**
 * Polls until `check` gives a value other than `false` or `undefined`, and returns it; tests wait on
 * workflow state this way instead of sleeping.
 */
export async function waitFor<T>(
  check: () => Promise<T | false | undefined>,
  what: string,
  timeoutMs = 60_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== false && value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting until ${what}`);
}
