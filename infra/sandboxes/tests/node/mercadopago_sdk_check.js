// Drives the local Mercado Pago sandbox with the official Node SDK (npm `mercadopago`, pinned in
// scripts/bootstrap.sh and installed into .tools/mercadopago-node).
//
// Usage: node mercadopago_sdk_check.js <sandbox base URL>
// Environment: MP_ACCESS_TOKEN (a TEST-…-<collector_id> token), MP_WEBHOOK_SECRET (the secret the
// sandbox signs that collector's webhooks with), MP_NODE_MODULES (the node_modules holding the
// SDK). Exits non-zero on the first failed check. Run by infra/sandboxes/tests/mercadopago_node.rs.
//
// The signature check is the point: the SDK's WebhookSignatureValidator, given a tolerance, reads
// `ts` as Unix seconds (sdk-nodejs src/utils/webhook/index.ts, since 3.3.0), which is what Mercado
// Pago sends (docs/mercadopago-signatures.md). A sandbox sending milliseconds fails here.
'use strict';

const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');

const modules = process.env.MP_NODE_MODULES;
const sdk = require(path.join(modules, 'mercadopago'));
const { AppConfig } = require(path.join(modules, 'mercadopago/dist/utils/config'));
const { MercadoPagoConfig, Preference, Payment, WebhookSignatureValidator, InvalidWebhookSignatureError } = sdk;

function check(condition, message, payload) {
  if (!condition) {
    const detail = payload === undefined ? '' : '\n' + JSON.stringify(payload, null, 2);
    console.log(`FAILED: ${message}${detail}`);
    process.exit(1);
  }
  console.log(`ok: ${message}`);
}

// A local notification endpoint recording (url, headers) of every POST.
function startReceiver() {
  const inbox = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      inbox.push({ url: req.url, headers: req.headers });
      res.writeHead(200);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ inbox, server })));
}

function rejects(options) {
  try {
    WebhookSignatureValidator.validate(options);
    return undefined;
  } catch (error) {
    return error instanceof InvalidWebhookSignatureError ? error.reason : String(error);
  }
}

async function main() {
  const baseUrl = process.argv[2].replace(/\/+$/, '');
  const token = process.env.MP_ACCESS_TOKEN;
  const secret = process.env.MP_WEBHOOK_SECRET;
  const collectorId = Number(token.split('-').pop());
  // The SDK reads this static on every request (dist/utils/restClient/index.js).
  AppConfig.BASE_URL = baseUrl;
  const client = new MercadoPagoConfig({ accessToken: token, options: { timeout: 5000 } });

  const reference = 'node-' + crypto.randomBytes(4).toString('hex');
  const pref = await new Preference(client).create({
    body: {
      items: [{ id: 'sku', title: 'Yerba', quantity: 1, unit_price: 150.5, currency_id: 'ARS' }],
      external_reference: reference,
    },
  });
  check(pref.id && pref.id.startsWith(`${collectorId}-`), 'preference created, id <collector_id>-<uuid>', pref);
  const fetched = await new Preference(client).get({ preferenceId: pref.id });
  check(fetched.external_reference === reference, 'preference readable by id', fetched);

  const { inbox, server } = await startReceiver();
  const payments = new Payment(client);
  let payment;
  try {
    payment = await payments.create({
      body: {
        transaction_amount: 5, token: 'tok-APRO', installments: 1, payment_method_id: 'visa',
        payer: { email: 'buyer@example.com' }, external_reference: reference,
        notification_url: `http://127.0.0.1:${server.address().port}/hook?source_news=webhooks`,
      },
      requestOptions: { idempotencyKey: crypto.randomUUID() },
    });
    check(payment.status === 'approved' && payment.collector_id === collectorId, 'payment created and approved', payment);
    const got = await payments.get({ id: payment.id });
    check(got.id === payment.id && got.transaction_amount === 5, 'payment readable by id', got);

    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && !inbox.some((r) => r.url.includes('data.id='))) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    server.close();
  }
  const webhook = inbox.find((r) => r.url.includes('data.id='));
  check(webhook !== undefined, 'the sandbox delivered a webhook', inbox);
  const query = new URL(webhook.url, 'http://x').searchParams;
  const dataId = query.get('data.id');
  check(dataId === String(payment.id), 'webhook names the payment in data.id', webhook.url);
  const ts = /(?:^|,)\s*ts=(\d+)/.exec(webhook.headers['x-signature'] || '');
  check(ts && ts[1].length === 10, 'x-signature ts is 10-digit Unix seconds', webhook.headers);

  const good = {
    xSignature: webhook.headers['x-signature'],
    xRequestId: webhook.headers['x-request-id'],
    dataId,
    secret,
    toleranceSeconds: 300,
  };
  check(rejects(good) === undefined, 'WebhookSignatureValidator (tolerance 300 s) accepts the sandbox webhook', rejects(good));
  const cases = [
    ['a wrong secret', { ...good, secret: secret + 'x' }, 'SignatureMismatch'],
    ['another data.id', { ...good, dataId: dataId + '1' }, 'SignatureMismatch'],
    ['another x-request-id', { ...good, xRequestId: crypto.randomUUID() }, 'SignatureMismatch'],
    ['a tampered v1', { ...good, xSignature: good.xSignature.replace(/v1=(.)/, (_, c) => `v1=${c === '0' ? '1' : '0'}`) }, 'SignatureMismatch'],
    ['a replay an hour later', { ...good, now: () => Date.now() + 3600 * 1000 }, 'TimestampOutOfTolerance'],
  ];
  for (const [name, options, reason] of cases) {
    check(rejects(options) === reason, `${name} is rejected (${reason})`, rejects(options));
  }
  console.log('ALL OK');
}

main().catch((error) => {
  console.log(`FAILED: ${error && error.stack ? error.stack : JSON.stringify(error)}`);
  process.exit(1);
});
