// shopify-sim's webhook deliveries judged by Shopify's own validator (`shopify.webhooks.validate`
// in `@shopify/shopify-api`, keyed with the simulator's client secret), delivered through a
// simulated tunnel (`/_sim/tunnels`: a public https URL mapped to a loopback receiver), since a
// subscription uri must be https and must not point at a loopback or private host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';
import { adminClient, send, simChange, startSim, startWebhookReceiver } from './harness.mjs';

const SUBSCRIBE = /* GraphQL */ `
  mutation Subscribe($topic: WebhookSubscriptionTopic!, $uri: String!) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri }) {
      webhookSubscription { id topic uri }
      userErrors { field message }
    }
  }
`;

const SUBSCRIPTIONS = /* GraphQL */ `
  query Subscriptions {
    webhookSubscriptions(first: 20) { nodes { id topic uri } }
  }
`;

const FIRST_VARIANT = /* GraphQL */ `
  query FirstVariant {
    productVariants(first: 1) {
      nodes {
        id
        inventoryItem {
          id
          inventoryLevels(first: 1) {
            nodes { location { id } quantities(names: ["available"]) { name quantity } }
          }
        }
      }
    }
  }
`;

const DELIVERY_TIMEOUT_MS = 20_000;
const numericId = (gid) => gid.split('/').pop();
// Ids in webhook payloads are 64-bit integers; read them from the raw text, not through JSON.parse.
const rawNumber = (rawBody, key) => rawBody.match(new RegExp(`"${key}"\\s*:\\s*(-?\\d+)`))?.[1];

const unsupported = (result) => (result.errors?.graphQLErrors ?? [])
  .find((e) => e.extensions?.code === 'UNSUPPORTED_BY_SIMULATOR');

describe('webhooks from shopify-sim judged by shopify.webhooks.validate', () => {
  let sim;
  let receiver;
  before(async () => {
    sim = await startSim(['--seed', '7', '--products', '10', '--locations', '2']);
    receiver = await startWebhookReceiver(sim.info.client_secret);
  });
  after(async () => {
    await receiver?.close();
    await sim?.stop();
  });

  test('inventory_levels/update and orders/create arrive signed; a tampered body does not pass', async (t) => {
    const { client } = adminClient(sim);
    const port = new URL(receiver.url).port;

    // A tunnel: `POST /_sim/tunnels {"target": …}` answers `{"public_url": "https://…", …}`, an
    // address the simulator forwards (same path) to the loopback receiver.
    const tunnel = await sim.control('POST', '/_sim/tunnels', { target: receiver.url });
    const tunnelMissing = tunnel.status === 404;
    const publicUrl = String((!tunnelMissing && tunnel.body?.public_url)
      || `https://shelfsync-test-${port}.tunnel.shelfsync.test`).replace(/\/+$/, '');

    const subscribe = async (topic, uri) => {
      const result = await send(client, SUBSCRIBE, { variables: { topic, uri } });
      const gap = unsupported(result);
      if (gap) return { gap };
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return result.data.webhookSubscriptionCreate;
    };

    const subscribed = {};
    for (const [topic, route] of [['INVENTORY_LEVELS_UPDATE', '/hooks/inventory'], ['ORDERS_CREATE', '/hooks/orders']]) {
      const uri = `${publicUrl}${route}`;
      const payload = await subscribe(topic, uri);
      if (payload.gap) {
        t.skip(`shopify-sim does not deliver webhooks yet: ${payload.gap.message}`);
        return;
      }
      if (tunnelMissing) {
        t.skip('shopify-sim has webhook subscriptions but no /_sim/tunnels yet, so nothing can reach a loopback receiver');
        return;
      }
      assert.ok(tunnel.status >= 200 && tunnel.status < 300, `POST /_sim/tunnels -> ${tunnel.status} ${JSON.stringify(tunnel.body)}`);
      assert.match(String(tunnel.body?.public_url), /^https:\/\//, `tunnel answer: ${JSON.stringify(tunnel.body)}`);
      assert.deepEqual(payload.userErrors, []);
      assert.equal(payload.webhookSubscription.topic, topic);
      assert.equal(payload.webhookSubscription.uri, uri);
      subscribed[topic] = payload.webhookSubscription.id;
    }

    // Shopify refuses a plain-http loopback uri; the simulator must too.
    const loopback = await subscribe('ORDERS_CREATE', `${receiver.url}/direct`);
    assert.equal(loopback.webhookSubscription, null);
    assert.ok(loopback.userErrors.length > 0, 'a plain-http loopback uri was accepted');

    const listed = await send(client, SUBSCRIPTIONS);
    assert.equal(listed.errors, undefined, JSON.stringify(listed.errors));
    const listedIds = listed.data.webhookSubscriptions.nodes.map((n) => n.id);
    for (const id of Object.values(subscribed)) assert.ok(listedIds.includes(id), `${id} not listed`);

    // A merchant's stock edit: inventory_levels/update with the new `available`.
    const variants = await send(client, FIRST_VARIANT);
    assert.equal(variants.errors, undefined, JSON.stringify(variants.errors));
    const variant = variants.data.productVariants.nodes[0];
    const item = variant.inventoryItem.id;
    const level = variant.inventoryItem.inventoryLevels.nodes[0];
    const location = level.location.id;
    const availableBefore = level.quantities.find((q) => q.name === 'available').quantity;
    await simChange(sim, '/_sim/inventory', {
      inventory_item_id: item, location_id: location, name: 'available', delta: -2,
    });

    const inventoryDelivery = await receiver.waitFor((ds) => ds.find((d) =>
      d.headers['x-shopify-topic'] === 'inventory_levels/update'
      && rawNumber(d.rawBody, 'inventory_item_id') === numericId(item)
      && rawNumber(d.rawBody, 'location_id') === numericId(location)
      && rawNumber(d.rawBody, 'available') === String(availableBefore - 2)),
    DELIVERY_TIMEOUT_MS, `inventory_levels/update for ${item} at ${location} with available ${availableBefore - 2}`);
    assert.equal(inventoryDelivery.path, '/hooks/inventory');
    assert.deepEqual(
      { valid: inventoryDelivery.verdict.valid, topic: inventoryDelivery.verdict.topic, domain: inventoryDelivery.verdict.domain, apiVersion: inventoryDelivery.verdict.apiVersion },
      { valid: true, topic: 'INVENTORY_LEVELS_UPDATE', domain: sim.info.shop_domain, apiVersion: sim.info.api_version },
      JSON.stringify(inventoryDelivery.verdict),
    );
    assert.ok(inventoryDelivery.verdict.webhookId);

    // A customer's order: orders/create naming the variant.
    await simChange(sim, '/_sim/orders', { lines: [{ variant_id: variant.id, quantity: 1 }], location_id: location });
    const orderDelivery = await receiver.waitFor((ds) => ds.find((d) =>
      d.headers['x-shopify-topic'] === 'orders/create'
      && rawNumber(d.rawBody, 'variant_id') === numericId(variant.id)),
    DELIVERY_TIMEOUT_MS, `orders/create with a line for ${variant.id}`);
    assert.equal(orderDelivery.path, '/hooks/orders');
    assert.equal(orderDelivery.verdict.valid, true, JSON.stringify(orderDelivery.verdict));
    assert.equal(orderDelivery.verdict.topic, 'ORDERS_CREATE');
    assert.equal(orderDelivery.verdict.domain, sim.info.shop_domain);
    assert.match(JSON.parse(orderDelivery.rawBody).admin_graphql_api_id, /^gid:\/\/shopify\/Order\/\d+$/);

    // Everything that arrived was signed correctly (duplicates included).
    const invalid = receiver.deliveries.filter((d) => !d.verdict.valid);
    assert.deepEqual(invalid.map((d) => ({ topic: d.headers['x-shopify-topic'], verdict: d.verdict })), []);

    // The same request with one byte of the body changed, or checked under another secret, fails.
    const tamperedBody = inventoryDelivery.rawBody.replace(
      /"available"(\s*):(\s*)-?\d+/, `"available"$1:$2${availableBefore + 98}`,
    );
    assert.notEqual(tamperedBody, inventoryDelivery.rawBody, 'payload did not contain "available" as expected');
    const tampered = await receiver.shopify.webhooks.validate({
      rawBody: tamperedBody, rawRequest: inventoryDelivery.request, rawResponse: inventoryDelivery.response,
    });
    assert.equal(tampered.valid, false);
    assert.equal(tampered.reason, 'invalid_hmac');

    const otherApp = shopifyApi({
      apiKey: 'other-app', apiSecretKey: 'shpss_not_the_simulators_secret', hostName: '127.0.0.1',
      apiVersion: ApiVersion.July26, isEmbeddedApp: false, logger: { level: LogSeverity.Error },
    });
    const foreign = await otherApp.webhooks.validate({
      rawBody: orderDelivery.rawBody, rawRequest: orderDelivery.request, rawResponse: orderDelivery.response,
    });
    assert.equal(foreign.valid, false);
    assert.equal(foreign.reason, 'invalid_hmac');
  });
});
