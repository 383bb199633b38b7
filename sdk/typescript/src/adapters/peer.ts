// Loads an adapter's framework (an optional peer dependency) with a clear message when it is not installed.

export async function peer<T>(load: () => Promise<T>, message: string): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if ((e as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND') throw new Error(message, { cause: e });
    throw e;
  }
}
