// A PKCS#11 token (OASIS PKCS#11 v2.40/v3.0 base specification) through pkcs11js: the module is
// loaded and the token opened once per process, the user logs in once with the PIN from a file,
// and signing runs on a small pool of sessions (a session does one operation at a time, §5.1)
// with the *Async calls, which run the module on libuv's threadpool, off the event loop.
// Nothing here reads a private key out of the token; errors name the failed call and the
// Cryptoki return value, never the PIN.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';
import { SignetError } from '../errors.js';
import { Secret } from '../secret.js';

type Pkcs11Module = typeof Pkcs11Types;
type Handle = Buffer;

export interface Pkcs11Settings {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** CKA_LABEL of the token (its label in C_GetTokenInfo). */
  readonly tokenLabel: string;
  /** File holding the user PIN (one line; readable by the owner only). */
  readonly pinFile: string;
  /** Sessions signing at once (default 4). */
  readonly sessions?: number;
}

// pkcs11js is a CommonJS native addon; loaded only when a token is configured, so nothing else
// (the CLI's fast path, a server without a token) pays for it.
let loaded: Pkcs11Module | undefined;
function pkcs11js(): Pkcs11Module {
  loaded ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
  return loaded;
}

/** The CKR_* name of a Cryptoki return value, for messages. */
function ckrName(code: number): string {
  const mod = pkcs11js() as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod)) if (name.startsWith('CKR_') && value === code) return name;
  return `0x${code.toString(16)}`;
}

/** Turns a Cryptoki failure into KEY_TOKEN_UNAVAILABLE naming the call (no key or PIN data). */
export function tokenError(what: string, err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  const code = (err as { code?: unknown }).code;
  const detail = typeof code === 'number' ? ckrName(code) : ((err as Error).message ?? 'error').split('\n')[0];
  return new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: ${what} failed (${detail})`);
}

/** The user PIN, from a file only the owner may read (like the master key and token files). */
export function readPinFile(path: string): Secret {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SignetError('CONFIG_INVALID', `cannot read the PKCS#11 PIN file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o077) !== 0) throw new SignetError('CONFIG_INVALID', `the PKCS#11 PIN file ${path} is readable by group or others (chmod 600)`);
  const pin = text.replace(/\r?\n$/, '');
  if (pin.length === 0 || pin.includes('\n')) throw new SignetError('CONFIG_INVALID', `the PKCS#11 PIN file ${path} must hold one line`);
  return new Secret(pin);
}

interface LoadedModule {
  readonly p: Pkcs11Types.PKCS11;
  readonly tokens: Map<string, Pkcs11Token>;
}
const modules = new Map<string, LoadedModule>();

export class Pkcs11Token {
  readonly label: string;
  readonly #mod: LoadedModule;
  readonly #free: Handle[] = [];
  readonly #all: Handle[] = [];
  readonly #waiters: Array<(session: Handle) => void> = [];
  #closed = false;

  private constructor(mod: LoadedModule, label: string) {
    this.#mod = mod;
    this.label = label;
  }

  get p(): Pkcs11Types.PKCS11 {
    return this.#mod.p;
  }

  get constants(): Pkcs11Module {
    return pkcs11js();
  }

  /** Opens (once per process and token) the token named in the settings and logs in. */
  static open(settings: Pkcs11Settings): Pkcs11Token {
    const key = settings.module;
    let mod = modules.get(key);
    const c = pkcs11js();
    if (!mod) {
      const p = new c.PKCS11();
      try {
        p.load(settings.module);
      } catch (err) {
        throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: cannot load the module ${settings.module} (${(err as Error).message.split('\n')[0]})`);
      }
      try {
        p.C_Initialize({ flags: c.CKF_OS_LOCKING_OK });
      } catch (err) {
        if ((err as { code?: number }).code !== c.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw tokenError('C_Initialize', err);
      }
      mod = { p, tokens: new Map() };
      modules.set(key, mod);
    }
    const existing = mod.tokens.get(settings.tokenLabel);
    if (existing && !existing.#closed) return existing;
    const token = new Pkcs11Token(mod, settings.tokenLabel);
    token.#connect(settings);
    mod.tokens.set(settings.tokenLabel, token);
    return token;
  }

  #connect(settings: Pkcs11Settings): void {
    const { p } = this.#mod;
    const c = pkcs11js();
    const pin = readPinFile(settings.pinFile);
    let slot: Handle | undefined;
    try {
      for (const s of p.C_GetSlotList(true)) {
        if (p.C_GetTokenInfo(s).label.trim() === settings.tokenLabel) {
          slot = s;
          break;
        }
      }
    } catch (err) {
      pin.wipe();
      throw tokenError('C_GetSlotList', err);
    }
    if (slot === undefined) {
      pin.wipe();
      throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: no token labelled ${JSON.stringify(settings.tokenLabel)} in ${settings.module}`);
    }
    const count = settings.sessions ?? 4;
    try {
      for (let i = 0; i < count; i++) {
        const session = p.C_OpenSession(slot, c.CKF_SERIAL_SESSION | c.CKF_RW_SESSION);
        this.#all.push(session);
        this.#free.push(session);
      }
      try {
        p.C_Login(this.#all[0] as Handle, c.CKU_USER, pin.revealString());
      } catch (err) {
        if ((err as { code?: number }).code !== c.CKR_USER_ALREADY_LOGGED_IN) throw tokenError('C_Login', err);
      }
    } catch (err) {
      this.#closeSessions();
      throw err instanceof SignetError ? err : tokenError('C_OpenSession', err);
    } finally {
      pin.wipe();
    }
  }

  /** Runs `fn` with a session of the pool to itself. */
  async withSession<T>(fn: (session: Handle) => Promise<T> | T): Promise<T> {
    if (this.#closed) throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: the token ${this.label} is closed`);
    const session = this.#free.pop() ?? (await new Promise<Handle>((resolve) => this.#waiters.push(resolve)));
    try {
      return await fn(session);
    } finally {
      const next = this.#waiters.shift();
      if (next) next(session);
      else this.#free.push(session);
    }
  }

  /** A synchronous operation on a session that is free now, else on the first one (C_Encrypt of
   *  a data key: short; PKCS#11 modules serialise calls per session themselves). */
  withSessionSync<T>(fn: (session: Handle) => T): T {
    if (this.#closed) throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: the token ${this.label} is closed`);
    const session = this.#free.pop();
    if (session === undefined) {
      // Every pooled session is busy with an async operation: use a short-lived one.
      const c = pkcs11js();
      const info = this.#mod.p.C_GetSessionInfo(this.#all[0] as Handle);
      const extra = this.#mod.p.C_OpenSession(info.slotID, c.CKF_SERIAL_SESSION | c.CKF_RW_SESSION);
      try {
        return fn(extra);
      } finally {
        this.#mod.p.C_CloseSession(extra);
      }
    }
    try {
      return fn(session);
    } finally {
      const next = this.#waiters.shift();
      if (next) next(session);
      else this.#free.push(session);
    }
  }

  /** Every object matching `template` (at most `max`). */
  find(session: Handle, template: Pkcs11Types.Template, max = 16): Handle[] {
    const { p } = this.#mod;
    p.C_FindObjectsInit(session, template);
    try {
      return p.C_FindObjects(session, max);
    } finally {
      p.C_FindObjectsFinal(session);
    }
  }

  #closeSessions(): void {
    for (const s of this.#all.splice(0)) {
      try {
        this.#mod.p.C_CloseSession(s);
      } catch {
        // already gone
      }
    }
    this.#free.length = 0;
  }

  /** Closes this token's sessions (the module stays loaded: other tokens may use it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeSessions();
    this.#mod.tokens.delete(this.label);
  }
}
