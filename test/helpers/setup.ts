// Loaded before every test file (vitest.config.ts setupFiles).
//
// Tests block their event loop for seconds at a time (spawnSync of gpg, rpm, the signet CLI), so
// undici cannot notice that the server closed an idle keep-alive connection meanwhile (Fastify
// closes them after 72 s) and sends the next request on it: "fetch failed: other side closed".
// Every fetch in tests therefore asks for a connection of its own (`Connection: close`), unless
// the test sets the header itself.
const realFetch = globalThis.fetch;

globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  if (!headers.has('connection')) headers.set('connection', 'close');
  return realFetch(input, { ...init, headers });
};
