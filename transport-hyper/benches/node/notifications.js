// The Node SDK (wechatpay-axios-plugin) side of the notifications benchmark: verifies the
// signature of each notification over its raw body (Rsa.verify), decrypts its resource
// (Aes.AesGcm.decrypt) and parses both JSON documents, for `seconds`, after a warm-up.
// Prints one JSON line: {"count", "wall_s", "cpu_s"} (cpu_s: this process's user + system time).
'use strict';
const { readFileSync } = require('fs');
const { Rsa, Aes } = require('wechatpay-axios-plugin');

const [notificationsFile, publicKeyFile, apiv3Key, seconds] = process.argv.slice(2);
const notifications = JSON.parse(readFileSync(notificationsFile, 'utf8'));
const publicKey = Rsa.from(`file://${publicKeyFile}`, Rsa.KEY_TYPE_PUBLIC);

function handle({ headers, body }) {
  const message = `${headers['Wechatpay-Timestamp']}\n${headers['Wechatpay-Nonce']}\n${body}\n`;
  if (!Rsa.verify(message, headers['Wechatpay-Signature'], publicKey)) {
    throw new Error('a notification did not verify');
  }
  const { resource } = JSON.parse(body);
  const plaintext = Aes.AesGcm.decrypt(resource.ciphertext, apiv3Key, resource.nonce,
    resource.associated_data);
  return JSON.parse(plaintext);
}

function run(ms) {
  const until = Date.now() + ms;
  let count = 0;
  while (Date.now() < until) {
    for (const n of notifications) {
      handle(n);
      count += 1;
    }
  }
  return count;
}

run(1000);
const cpu = process.cpuUsage();
const started = process.hrtime.bigint();
const count = run(Number(seconds) * 1000);
const wall = Number(process.hrtime.bigint() - started) / 1e9;
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ count, wall_s: wall, cpu_s: (used.user + used.system) / 1e6 }));
