// The Node SDK (wechatpay-axios-plugin) side of the head-to-head benchmark: verified queries
// against the same standalone mock, `concurrency` at a time for `seconds`, after a warm-up.
// Prints one JSON line: {"calls", "wall_s", "cpu_s"} (cpu_s: this process's user + system time).
'use strict';
const { readFileSync } = require('fs');
const { Wechatpay } = require('wechatpay-axios-plugin');

const [baseURL, mchid, serial, keyFile, publicKeyId, publicKeyFile, subMchid, transactionId,
  concurrency, seconds] = process.argv.slice(2);

const wxpay = new Wechatpay({
  mchid,
  serial,
  privateKey: readFileSync(keyFile),
  certs: { [publicKeyId]: readFileSync(publicKeyFile) },
  baseURL,
});

async function query() {
  const res = await wxpay.v3.ecommerce.profitsharing.afterSalesOrders.get({
    params: { sub_mchid: subMchid, transaction_id: transactionId },
  });
  if (res.status !== 200 || res.data.transaction_id !== transactionId) {
    throw new Error(`unexpected answer ${res.status}`);
  }
}

async function run(ms) {
  const until = Date.now() + ms;
  let calls = 0;
  const worker = async () => {
    while (Date.now() < until) {
      await query();
      calls += 1;
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  return calls;
}

(async () => {
  await run(1000);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const calls = await run(Number(seconds) * 1000);
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ calls, wall_s: wall, cpu_s: (used.user + used.system) / 1e6 }));
})().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
