// Interop: the Node SDK wechatpay-axios-plugin against the standalone mock.
// argv: base_url mchid serial merchant_key_file public_key_id public_key_file wrong_key_file
// Prints one JSON object with what each step saw.
'use strict';
const { readFileSync } = require('fs');
const { Wechatpay } = require('wechatpay-axios-plugin');

const [baseURL, mchid, serial, keyFile, publicKeyId, publicKeyFile, wrongKeyFile] = process.argv.slice(2);
const client = (key) => new Wechatpay({
  mchid, serial, privateKey: readFileSync(key), certs: { [publicKeyId]: readFileSync(publicKeyFile) }, baseURL,
});
const wxpay = client(keyFile);
const orders = wxpay.v3.ecommerce.profitsharing.afterSalesOrders;
const body = (tx) => ({ sub_mchid: '1900000109', transaction_id: tx, amount: 100,
  type: 'SERVICE_FEE_INCOME', scene: 'REFUND_TICKET', refund_id: '50000000382019052709732678859' });
const status = async (p) => { try { return (await p).status; } catch (e) { return e.response ? e.response.status : String(e.message || e); } };
const control = async (path, json) => (await fetch(`${baseURL}/mock/${path}`, { method: 'POST',
  headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) })).status;
const query = (tx) => orders.get({ params: { sub_mchid: '1900000109', transaction_id: tx } });

(async () => {
  const out = {};
  out.create = await status(orders.post(body('4208450740201411110000004001')));
  const results = [];
  for (let i = 0; i < 3; i += 1) results.push((await query('4208450740201411110000004001')).data.result);
  out.results = results;
  out.control = await control('outcomes', { sub_mchid: '1900000109', transaction_id: '4208450740201411110000004002', result: 'FAILED', fail_reason: 'NO_RELATION' });
  await orders.post(body('4208450740201411110000004002'));
  await query('4208450740201411110000004002');
  const failed = (await query('4208450740201411110000004002')).data;
  out.failed = `${failed.result}/${failed.fail_reason}`;
  await control('faults', { kind: 'system_error', route: 'create' });
  out.injected = await status(orders.post(body('4208450740201411110000004003')));
  out.wrong_key = await status(client(wrongKeyFile).v3.ecommerce.profitsharing.afterSalesOrders.post(body('4208450740201411110000004004')));
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
