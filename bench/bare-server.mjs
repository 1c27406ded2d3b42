// Reference: the fastest plausible Node HTTP signing service. A bare node:http server that hashes
// the body and signs the digest with node:crypto on the threadpool, nothing else (no auth, no
// OpenPGP packet, no logging). Any Node service's ceiling. Usage: bare-server.mjs rsa4096|ed25519
import http from 'node:http';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';

const algorithm = process.argv[2] ?? 'ed25519';
const { privateKey } =
  algorithm === 'rsa4096' ? generateKeyPairSync('rsa', { modulusLength: 4096 }) : generateKeyPairSync('ed25519');
const SHA512_PREFIX = Buffer.from('3051300d060960864801650304020305000440', 'hex');

const server = http.createServer((req, res) => {
  const hash = createHash(algorithm === 'rsa4096' ? 'sha512' : 'sha256');
  req.on('data', (c) => hash.update(c));
  req.on('end', () => {
    const digest = hash.digest();
    const input = algorithm === 'rsa4096' ? Buffer.concat([SHA512_PREFIX, digest]) : digest;
    sign(null, input, privateKey, (err, sig) => {
      if (err) {
        res.statusCode = 500;
        res.end();
        return;
      }
      const body = JSON.stringify({ signature: sig.toString('base64') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
