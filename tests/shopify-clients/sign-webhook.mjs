// Signs a webhook body the way Shopify's own library computes `X-Shopify-Hmac-Sha256`:
// `createSHA256HMAC` from `@shopify/shopify-api/runtime` (base64 of HMAC-SHA256 over the body),
// for the engine's listener tests (`src-tauri/crates/engine/tests/intake_listener.rs`).
//
//   SHOPIFY_WEBHOOK_SECRET=shpss_… node tests/shopify-clients/sign-webhook.mjs < body.json
//
// The body comes on stdin as raw bytes; the key comes from the environment, never an argument
// (arguments show in process lists). Prints the header value and a newline on stdout.
// `createSHA256HMAC` takes the payload as a string and signs its UTF-8 encoding, so the body
// must be UTF-8: anything else is refused (exit 2) rather than signed differently from the
// bytes the caller holds. A leading byte-order mark is kept, not stripped.
import { createSHA256HMAC, HashFormat } from '@shopify/shopify-api/runtime';

const secret = process.env.SHOPIFY_WEBHOOK_SECRET;
if (!secret) {
  console.error('sign-webhook: set SHOPIFY_WEBHOOK_SECRET to the key to sign with');
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bytes = Buffer.concat(chunks);

let body;
try {
  body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
} catch {
  console.error('sign-webhook: the body on stdin is not UTF-8');
  process.exit(2);
}

process.stdout.write(`${await createSHA256HMAC(secret, body, HashFormat.Base64)}\n`);
