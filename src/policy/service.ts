// PolicyService (`ctx.policies`): write, read, list and delete policy documents, and the compiled
// policies the authorizer uses. A write validates the whole document before anything is stored
// (all or nothing); the store replaces the text in one statement.
// Cache: compiled policies are kept for `revalidateMs` (default 1 s) and then re-read from the
// store (recompiled only when the text changed), so a change made on another node applies within
// that time; changes made through this service apply at once on this node.
import { SignetError } from '../errors.js';
import type { Store } from '../store/types.js';
import type { PolicyRecord } from '../store/policy-types.js';
import { checkPolicyName, invalid, parsePolicy, type PolicyDocument } from './document.js';

export const ADMIN_POLICY = 'admin';
export const DEFAULT_REVALIDATE_MS = 1000;

interface CacheEntry {
  readonly text: string | undefined;
  readonly document: PolicyDocument | undefined;
  readonly fetchedAt: number;
}

export interface PolicyView {
  readonly name: string;
  readonly builtin: boolean;
  readonly text: string;
  readonly rules: number;
  readonly createdAt: number | null;
  readonly updatedAt: number | null;
}

const ADMIN_TEXT = '# built-in: every operation on every key (cannot be changed or deleted)\n';

export class PolicyService {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #revalidateMs: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #pending = new Map<string, Promise<CacheEntry>>();
  /** Called when a stored document no longer parses (it then grants nothing). */
  readonly #onBrokenPolicy: (name: string, err: unknown) => void;

  constructor(store: Store, options: { now?: () => number; revalidateMs?: number; onBrokenPolicy?: (name: string, err: unknown) => void } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#revalidateMs = options.revalidateMs ?? DEFAULT_REVALIDATE_MS;
    this.#onBrokenPolicy = options.onBrokenPolicy ?? (() => undefined);
  }

  /**
   * Validate without storing (POLICY_INVALID with the failing path). For callers that must check a
   * document before another step and write it after (a role created with its policy).
   */
  validate(name: string, yamlText: string): void {
    checkPolicyName(name);
    if (name === ADMIN_POLICY) throw invalid('name', 'admin is the built-in policy and cannot be written');
    parsePolicy(name, yamlText);
  }

  /** Validate fully, then store (replacing any previous text). Throws POLICY_INVALID before storing anything. */
  async write(name: string, yamlText: string): Promise<PolicyView> {
    checkPolicyName(name);
    if (name === ADMIN_POLICY) throw invalid('name', 'admin is the built-in policy and cannot be written');
    const document = parsePolicy(name, yamlText);
    const at = this.#now();
    await this.#store.policies.put(name, yamlText, at);
    this.#cache.set(name, { text: yamlText, document, fetchedAt: at });
    const stored = await this.#store.policies.get(name);
    return view(stored ?? { name, text: yamlText, createdAt: at, updatedAt: at }, document.rules.length);
  }

  async read(name: string): Promise<PolicyView> {
    if (name === ADMIN_POLICY) return adminView();
    checkPolicyName(name);
    const record = await this.#store.policies.get(name);
    if (!record) throw new SignetError('POLICY_NOT_FOUND', `no policy named ${name}`);
    return view(record, ruleCount(record));
  }

  async list(): Promise<PolicyView[]> {
    const records = await this.#store.policies.list();
    return [adminView(), ...records.map((r) => view(r, ruleCount(r)))];
  }

  async delete(name: string): Promise<void> {
    checkPolicyName(name);
    if (name === ADMIN_POLICY) throw invalid('name', 'admin is the built-in policy and cannot be deleted');
    const deleted = await this.#store.policies.delete(name);
    this.#cache.set(name, { text: undefined, document: undefined, fetchedAt: this.#now() });
    if (!deleted) throw new SignetError('POLICY_NOT_FOUND', `no policy named ${name}`);
  }

  /** The cache entry when it is fresh (no store round trip, no await): the authorizer's fast path. */
  fresh(name: string): { document: PolicyDocument | undefined } | undefined {
    const cached = this.#cache.get(name);
    return cached && this.#now() - cached.fetchedAt < this.#revalidateMs ? cached : undefined;
  }

  /** The compiled policy, or undefined when there is none (or it no longer parses): grants nothing. */
  async compiled(name: string): Promise<PolicyDocument | undefined> {
    const cached = this.#cache.get(name);
    if (cached && this.#now() - cached.fetchedAt < this.#revalidateMs) return cached.document;
    let pending = this.#pending.get(name);
    if (!pending) {
      pending = this.#refresh(name, cached).finally(() => this.#pending.delete(name));
      this.#pending.set(name, pending);
    }
    return (await pending).document;
  }

  async #refresh(name: string, cached: CacheEntry | undefined): Promise<CacheEntry> {
    const fetchedAt = this.#now();
    const record = await this.#store.policies.get(name);
    let entry: CacheEntry;
    if (!record) entry = { text: undefined, document: undefined, fetchedAt };
    else if (cached && cached.text === record.text) entry = { ...cached, fetchedAt };
    else {
      let document: PolicyDocument | undefined;
      try {
        document = parsePolicy(name, record.text);
      } catch (err) {
        this.#onBrokenPolicy(name, err);
      }
      entry = { text: record.text, document, fetchedAt };
    }
    this.#cache.set(name, entry);
    return entry;
  }
}

function ruleCount(record: PolicyRecord): number {
  try {
    return parsePolicy(record.name, record.text).rules.length;
  } catch {
    return 0;
  }
}

function view(record: PolicyRecord, rules: number): PolicyView {
  return { name: record.name, builtin: false, text: record.text, rules, createdAt: record.createdAt, updatedAt: record.updatedAt };
}

function adminView(): PolicyView {
  return { name: ADMIN_POLICY, builtin: true, text: ADMIN_TEXT, rules: 0, createdAt: null, updatedAt: null };
}
