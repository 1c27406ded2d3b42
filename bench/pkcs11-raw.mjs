// The floor for token signing: SoftHSM2 itself, through pkcs11js, with no HTTP and no signet.
// Usage: pkcs11-raw.mjs MODULE LABEL PINFILE ALGORITHM SECONDS SESSIONS; prints one JSON line
// { ops_per_s }. Same mechanism and input size as signet's handle (CKM_RSA_PKCS over a SHA-512
// DigestInfo, CKM_EDDSA over a 32-byte digest), with SESSIONS operations in flight.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const [module, label, pinFile, algorithm, seconds = '8', sessions = '4'] = process.argv.slice(2);
const c = createRequire(import.meta.url)('pkcs11js');
const p = new c.PKCS11();
p.load(module);
p.C_Initialize({ flags: c.CKF_OS_LOCKING_OK });
const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
const open = () => p.C_OpenSession(slot, c.CKF_SERIAL_SESSION | c.CKF_RW_SESSION);
const pool = Array.from({ length: Number(sessions) }, open);
p.C_Login(pool[0], c.CKU_USER, readFileSync(pinFile, 'utf8').trim());
const rsa = algorithm === 'rsa4096';
const pub = rsa
  ? [{ type: c.CKA_MODULUS_BITS, value: 4096 }, { type: c.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }]
  : [{ type: c.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }];
// Token objects (CKA_TOKEN), as signet's keys are: SoftHSM2 keeps them in files and checks them
// on use, which a session object would skip.
const pair = p.C_GenerateKeyPair(pool[0], { mechanism: rsa ? c.CKM_RSA_PKCS_KEY_PAIR_GEN : 0x1055 }, [{ type: c.CKA_TOKEN, value: true }, { type: c.CKA_VERIFY, value: true }, ...pub],
  [{ type: c.CKA_TOKEN, value: true }, { type: c.CKA_PRIVATE, value: true }, { type: c.CKA_SIGN, value: true }, { type: c.CKA_SENSITIVE, value: true }, { type: c.CKA_EXTRACTABLE, value: false }]);
const mechanism = rsa ? c.CKM_RSA_PKCS : 0x1057;
const input = rsa ? Buffer.concat([Buffer.from('3051300d060960864801650304020305000440', 'hex'), randomBytes(64)]) : randomBytes(32);
const warm = Date.now() + 1000;
const end = warm + Number(seconds) * 1000;
let count = 0;
await Promise.all(pool.map(async (session) => {
  while (Date.now() < end) {
    p.C_SignInit(session, { mechanism }, pair.privateKey);
    await p.C_SignAsync(session, input, Buffer.alloc(rsa ? 512 : 64));
    if (Date.now() >= warm) count++;
  }
}));
p.C_Finalize();
process.stdout.write(`${JSON.stringify({ ops_per_s: count / Number(seconds) })}\n`);
