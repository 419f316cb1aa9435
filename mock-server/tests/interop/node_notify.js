// Interop: the Node SDK wechatpay-axios-plugin receives the sandbox's notifications (Rsa.verify
// over the raw body, Aes.AesGcm.decrypt of the resource) and decrypts a name encrypted by
// wechatpay-core (Rsa.decrypt: RSA-OAEP, SHA-1).
// argv: base_url public_key_file apiv3_key wechatpay_private_key_file encrypted_name
// Prints one JSON object with what each step saw.
'use strict';
const http = require('http');
const { readFileSync } = require('fs');
const { Rsa, Aes } = require('wechatpay-axios-plugin');

const [baseURL, publicKeyFile, apiv3Key, privateKeyFile, encryptedName] = process.argv.slice(2);
const publicKey = Rsa.from(`file://${publicKeyFile}`, Rsa.KEY_TYPE_PUBLIC);
const privateKey = Rsa.from(`file://${privateKeyFile}`, Rsa.KEY_TYPE_PRIVATE);

const received = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const h = req.headers;
    const message = `${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n${body}\n`;
    const verified = Rsa.verify(message, h['wechatpay-signature'], publicKey);
    let resource = null;
    if (verified) {
      const r = JSON.parse(body).resource;
      resource = JSON.parse(Aes.AesGcm.decrypt(r.ciphertext, apiv3Key, r.nonce, r.associated_data));
    }
    received.push({ verified, resource });
    res.writeHead(verified ? 200 : 401, { 'content-type': 'application/json' });
    res.end(verified ? '{"code":"SUCCESS"}' : '{"code":"FAIL","message":"unverified"}');
  });
});

server.listen(0, '127.0.0.1', async () => {
  const out = {};
  try {
    const url = `http://127.0.0.1:${server.address().port}/notify`;
    const resource = { sp_mchid: '1900000100', sub_mchid: '1900000109',
      transaction_id: '4208450740201411110000007001', order_id: '3008450740201411110000007001',
      out_order_no: 'P7001', receiver: { type: 'MERCHANT_ID', account: '1900000110', amount: 777,
        description: 'interop' }, success_time: '2026-11-24T10:34:56+08:00' };
    out.notify = (await fetch(`${baseURL}/mock/notifications`, { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, resource }) })).status;
    const until = Date.now() + 15000;
    while (received.length === 0 && Date.now() < until) {
      await new Promise((r) => { setTimeout(r, 50); });
    }
    out.verified = received.length > 0 && received[0].verified;
    out.resource = received.length > 0 ? received[0].resource : null;
    out.name = Rsa.decrypt(encryptedName, privateKey);
  } catch (e) {
    out.error = String(e && e.message ? e.message : e);
  }
  server.close();
  console.log(JSON.stringify(out));
});
