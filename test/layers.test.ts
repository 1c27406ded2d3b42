// The layer rules of eslint.config.js (docs/architecture.md "Layers"), tried as a careless
// change would break them: each forbidden import must be refused by the real ESLint
// configuration, and the allowed neighbour of each must pass, so a rule that silently stops
// matching (a renamed folder, a pattern typo, a config block that no longer applies) fails here.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

const use = (name: string): string => `\nexport const used = ${name};\n`;

describe('layer rules refuse forbidden imports', () => {
  const forbidden: [string, string][] = [
    ['src/openpgp/x.ts', `import { SqliteStore } from '../store/sqlite/sqlite-store.js';${use('SqliteStore')}`],
    ['src/openpgp/x.ts', `import type { KeyRecord } from '../store/types.js';\nexport type T = KeyRecord;\n`],
    ['src/rpm/x.ts', `import { printLine } from '../cli/common.js';${use('printLine')}`],
    ['src/rpm/deep/x.ts', `import { buildApp } from '../../server/app.js';${use('buildApp')}`],
    ['src/tlog/x.ts', `import type { Store } from '../store/types.js';\nexport type T = Store;\n`],
    ['src/tlog/x.ts', `import { SignetClient } from '../client/client.js';${use('SignetClient')}`],
    ['src/sha2/x.ts', `import { readPackagePrefix } from '../rpm-io/file.js';${use('readPackagePrefix')}`],
    ['src/rpm/x.ts', `import { readFileSync } from 'node:fs';${use('readFileSync')}`],
    ['src/openpgp/x.ts', `import { open } from 'node:fs/promises';${use('open')}`],
    ['src/rpm/x.test.ts', `import { printLine } from '../cli/common.js';${use('printLine')}`],
    ['src/tlog/service.ts', `import { SqliteStore } from '../store/sqlite/sqlite-store.js';${use('SqliteStore')}`],
    ['src/tlog/service.ts', `import { denseEntries } from '../store/rows.js';${use('denseEntries')}`],
    ['src/repo/x.ts', `import { verifyRpmFile } from '../cli/rpm-verify.js';${use('verifyRpmFile')}`],
    ['src/rpm-io/x.ts', `import { printLine } from '../cli/common.js';${use('printLine')}`],
    ['src/server/routes/x.ts', `import { answerSigned } from './sign.js';${use('answerSigned')}`],
    ['src/store/postgres/x.ts', `import { denseEntries } from '../sqlite/log-store.js';${use('denseEntries')}`],
    ['src/store/sqlite/x.ts', `import { PgDatabase } from '../postgres/database.js';${use('PgDatabase')}`],
    ['src/api/x.ts', `import { buildApp } from '../server/app.js';${use('buildApp')}`],
    ['src/api/x.ts', `import { SignetClient } from '../client/client.js';${use('SignetClient')}`],
    ['src/api/x.ts', `import type { KeyRecord } from '../store/types.js';\nexport type T = KeyRecord;\n`],
    ['src/api/x.ts', `import { printLine } from '../cli/common.js';${use('printLine')}`],
    ['src/api/x.ts', `import { APPROLE_DEFAULTS } from '../auth/approle.js';${use('APPROLE_DEFAULTS')}`],
    ['src/api/x.ts', `import { parsePolicy } from '../policy/document.js';${use('parsePolicy')}`],
    ['src/api/x.ts', `import { readFileSync } from 'node:fs';${use('readFileSync')}`],
  ];
  for (const [file, code] of forbidden) {
    it(`${file}: ${code.split('\n')[0]}`, async () => {
      expect((await restricted(file, code)).length).toBeGreaterThan(0);
    });
  }
});

describe('the allowed neighbours pass', () => {
  const allowed: [string, string][] = [
    ['src/openpgp/x.ts', `import { dearmor } from './armor.js';${use('dearmor')}`],
    ['src/rpm/x.ts', `import { SignetError } from '../errors.js';${use('SignetError')}`],
    ['src/rpm/x.ts', `import { createHash } from 'node:crypto';${use('createHash')}`],
    ['src/rpm/x.test.ts', `import { readFileSync } from 'node:fs';${use('readFileSync')}`],
    ['src/tlog/service.ts', `import type { Store } from '../store/types.js';\nexport type T = Store;\n`],
    ['src/repo/x.ts', `import { verifyRpmFile } from '../rpm-io/verify.js';${use('verifyRpmFile')}`],
    ['src/rpm-io/x.ts', `import { parseRpmPrefix } from '../rpm/package.js';${use('parseRpmPrefix')}`],
    ['src/server/routes/x.ts', `import { signingPipeline } from '../signing.js';${use('signingPipeline')}`],
    ['src/server/routes/x.test.ts', `import { decodeHeader } from './rpm.js';${use('decodeHeader')}`],
    ['src/store/postgres/x.ts', `import { denseEntries } from '../rows.js';${use('denseEntries')}`],
    ['src/api/x.ts', `import { z } from 'zod';\nimport { ARTIFACT_KINDS } from '../policy/kinds.js';\nimport { NAME_PATTERN } from '../names.js';\nimport { SignetError } from '../errors.js';\nexport const used = [z, ARTIFACT_KINDS, NAME_PATTERN, SignetError];\n`],
    ['src/server/x.ts', `import { keyInfo } from '../api/schemas.js';${use('keyInfo')}`],
    ['src/client/x.ts', `import { ROUTES } from '../api/routes.js';${use('ROUTES')}`],
    ['src/store/migrate/x.ts', `import { SqliteStore } from '../sqlite/sqlite-store.js';\nimport { PostgresStore } from '../postgres/postgres-store.js';\nexport const used = [SqliteStore, PostgresStore];\n`],
  ];
  for (const [file, code] of allowed) {
    it(`${file}: ${code.split('\n')[0]}`, async () => {
      expect(await restricted(file, code)).toEqual([]);
    });
  }
});
