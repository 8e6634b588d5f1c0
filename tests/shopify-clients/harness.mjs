// Shared pieces for the tests that run Shopify's own Node clients against shopify-sim:
// start and stop the simulator binary, build the official Admin API client for it, and check every
// GraphQL document against the real Admin API 2026-07 schema before it is sent.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { createAdminApiClient } from '@shopify/admin-api-client';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';
import http from 'node:http';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const simBinary = process.env.SHOPIFY_SIM_BIN
  ?? path.join(repoRoot, 'target', 'debug', process.platform === 'win32' ? 'shopify-sim.exe' : 'shopify-sim');

const START_TIMEOUT_MS = 20_000;

/**
 * Start `shopify-sim --port 0 …extraArgs` and wait for its start line.
 * Resolves to { info, baseUrl, control(method, path, body), stop() }; `info` is the parsed first
 * stdout line (base_url, shop_domain, api_version, client_id, client_secret, admin_token, …).
 */
export async function startSim(extraArgs = []) {
  if (!existsSync(simBinary)) {
    throw new Error(`shopify-sim binary not found at ${simBinary}. Build it first: cargo build -p shopify-sim`);
  }
  const child = spawn(simBinary, ['--port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });

  const lines = createInterface({ input: child.stdout });
  const firstLine = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shopify-sim printed no start line within ${START_TIMEOUT_MS} ms; stderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.once('error', (err) => { clearTimeout(timer); reject(new Error(`could not run ${simBinary}: ${err.message}`)); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`shopify-sim exited (code ${code}, signal ${signal}) before its start line; stderr:\n${stderr}`));
    });
    lines.once('line', (line) => { clearTimeout(timer); resolve(line); });
  });
  child.removeAllListeners('exit');
  // Keep draining stdout so the simulator never blocks on a full pipe.
  lines.on('line', () => {});

  let info;
  try {
    info = JSON.parse(firstLine);
  } catch {
    child.kill('SIGKILL');
    throw new Error(`shopify-sim's first stdout line is not JSON: ${firstLine}`);
  }
  for (const key of ['base_url', 'shop_domain', 'api_version', 'client_id', 'client_secret', 'admin_token']) {
    if (typeof info[key] !== 'string' || info[key] === '') {
      child.kill('SIGKILL');
      throw new Error(`shopify-sim's start line lacks "${key}": ${firstLine}`);
    }
  }

  const baseUrl = info.base_url.replace(/\/+$/, '');
  return {
    info,
    baseUrl,
    /** Call the simulator's control API (`/_sim/…`); resolves to { status, body }. */
    async control(method, route, body) {
      const res = await fetch(`${baseUrl}${route}`, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed = text;
      try { parsed = text ? JSON.parse(text) : null; } catch { /* keep the text */ }
      return { status: res.status, body: parsed };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The official `@shopify/admin-api-client` pointed at the simulator. The client always builds an
 * https:// URL from `storeDomain`; the simulator speaks plain HTTP on loopback, so the fetch it is
 * given swaps the scheme back (and counts the HTTP requests the client really made).
 */
export function adminClient(sim, { accessToken = sim.info.admin_token, retries = 0, logger } = {}) {
  const host = new URL(sim.baseUrl).host;
  const requests = [];
  const client = createAdminApiClient({
    storeDomain: host,
    apiVersion: sim.info.api_version,
    accessToken,
    retries,
    logger,
    customFetchApi: (url, init) => {
      const local = String(url).replace(/^https:/, 'http:');
      requests.push(local);
      return fetch(local, init);
    },
  });
  return { client, requests };
}

// --- The real Admin API 2026-07 schema --------------------------------------------------------

let schema;
/** The schema kept in the project (crate shopify-schema), with the built-ins printed SDL leaves out. */
export function adminSchema() {
  if (!schema) {
    const dir = path.join(repoRoot, 'src-tauri', 'crates', 'schema');
    const sdl = readFileSync(path.join(dir, 'schema', 'admin-2026-07.graphql'), 'utf8');
    const builtins = readFileSync(path.join(dir, 'src', 'builtins.graphql'), 'utf8');
    schema = buildSchema(`${sdl}\n${builtins}`);
  }
  return schema;
}

/** graphql-js's verdict on a document against the real schema: a list of messages (empty = valid). */
export function schemaErrors(document) {
  let ast;
  try {
    ast = parse(document);
  } catch (err) {
    return [err.message];
  }
  return validate(adminSchema(), ast).map((e) => e.message);
}

/** Throws unless the document is valid against the real schema. */
export function assertValidDocument(document) {
  const errors = schemaErrors(document);
  if (errors.length) {
    throw new Error(`GraphQL document does not validate against Admin API 2026-07:\n- ${errors.join('\n- ')}\n${document}`);
  }
  return document;
}

/**
 * Send a document through the official client, after checking it against the real schema.
 * Resolves to the client's own result ({ data, errors, extensions, headers }).
 */
export function send(client, document, options) {
  assertValidDocument(document);
  return client.request(document, options);
}

/** POST a store change to the control API and insist it was accepted. */
export async function simChange(sim, route, body) {
  const res = await sim.control('POST', route, body);
  if (res.status < 200 || res.status > 299) {
    throw new Error(`POST ${route} ${JSON.stringify(body)} -> ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- A webhook receiver judged by Shopify's own library ----------------------------------------

/**
 * A loopback `node:http` receiver that checks every request with `shopify.webhooks.validate`
 * from `@shopify/shopify-api`, configured with `secret` as the app's secret key. Valid webhooks
 * get 200, others 401 (what Shopify asks of a receiver). Resolves to
 * { url, deliveries, waitFor(predicate, timeoutMs, what), shopify, close() }; each delivery is
 * { path, headers, rawBody, verdict, request, response }.
 */
export async function startWebhookReceiver(secret) {
  const shopify = shopifyApi({
    apiKey: 'shelfsync-webhook-check',
    apiSecretKey: secret,
    hostName: '127.0.0.1',
    apiVersion: ApiVersion.July26,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error },
  });
  const deliveries = [];
  const waiters = new Set();
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let verdict;
      try {
        verdict = await shopify.webhooks.validate({ rawBody, rawRequest: request, rawResponse: response });
      } catch (err) {
        verdict = { valid: false, reason: `validate threw: ${err.message}` };
      }
      deliveries.push({ path: request.url, headers: request.headers, rawBody, verdict, request, response });
      response.writeHead(verdict.valid ? 200 : 401, { 'Content-Type': 'text/plain' });
      response.end(verdict.valid ? 'ok' : 'invalid');
      for (const waiter of waiters) waiter();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    deliveries,
    shopify,
    /** Wait until `predicate(deliveries)` is truthy; fails after timeoutMs naming `what`. */
    waitFor(predicate, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const value = predicate(deliveries);
          if (value) { waiters.delete(check); clearTimeout(timer); resolve(value); }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = deliveries.map((d) => `${d.headers['x-shopify-topic']} ${JSON.stringify(d.verdict)}`);
          reject(new Error(`no ${what} within ${timeoutMs} ms; deliveries so far:\n${seen.join('\n') || '(none)'}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
