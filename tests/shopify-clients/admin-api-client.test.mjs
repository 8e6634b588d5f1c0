// Shopify's official `@shopify/admin-api-client` against shopify-sim: if the simulator drifts from
// what Shopify's own client expects (URL, headers, envelope, cost extensions, error shapes, HTTP
// statuses), these fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, assertValidDocument, schemaErrors, send, startSim } from './harness.mjs';

const SHOP = /* GraphQL */ `
  query Shop {
    shop { name myshopifyDomain currencyCode }
  }
`;

const VARIANT_PAGE = /* GraphQL */ `
  query VariantPage($first: Int!, $after: String) {
    productVariants(first: $first, after: $after, sortKey: ID) {
      nodes { id sku price inventoryItem { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

function assertCost(extensions) {
  assert.ok(extensions?.cost, `extensions.cost missing: ${JSON.stringify(extensions)}`);
  const { requestedQueryCost, actualQueryCost, throttleStatus } = extensions.cost;
  assert.equal(typeof requestedQueryCost, 'number');
  assert.equal(typeof actualQueryCost, 'number');
  assert.ok(actualQueryCost <= requestedQueryCost, `actual ${actualQueryCost} > requested ${requestedQueryCost}`);
  assert.equal(typeof throttleStatus?.maximumAvailable, 'number');
  assert.equal(typeof throttleStatus?.currentlyAvailable, 'number');
  assert.equal(typeof throttleStatus?.restoreRate, 'number');
  assert.ok(throttleStatus.currentlyAvailable <= throttleStatus.maximumAvailable);
}

describe('official Admin API client against shopify-sim', () => {
  let sim;
  before(async () => { sim = await startSim(['--seed', '7', '--products', '30', '--variants-per-product', '3', '--locations', '3']); });
  after(async () => { await sim?.stop(); });

  test('a shop query succeeds, with extensions.cost', async () => {
    const { client, requests } = adminClient(sim);
    const { data, errors, extensions } = await send(client, SHOP);
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.equal(data.shop.myshopifyDomain, sim.info.shop_domain);
    assert.equal(typeof data.shop.name, 'string');
    assert.ok(data.shop.name.length > 0);
    assertCost(extensions);
    assert.deepEqual(requests, [`${sim.baseUrl}/admin/api/${sim.info.api_version}/graphql.json`]);
  });

  test('productVariants pages with cursors: no overlap, pageInfo and cost on each page', async () => {
    const { client } = adminClient(sim);
    const seen = new Set();
    let after = null;
    let pages = 0;
    for (;;) {
      const { data, errors, extensions } = await send(client, VARIANT_PAGE, { variables: { first: 25, after } });
      assert.equal(errors, undefined, JSON.stringify(errors));
      assertCost(extensions);
      const { nodes, pageInfo } = data.productVariants;
      assert.ok(nodes.length > 0 && nodes.length <= 25);
      assert.equal(pageInfo.hasPreviousPage, pages > 0);
      for (const v of nodes) {
        assert.match(v.id, /^gid:\/\/shopify\/ProductVariant\/\d+$/);
        assert.ok(!seen.has(v.id), `variant ${v.id} came back on two pages`);
        seen.add(v.id);
      }
      pages += 1;
      if (!pageInfo.hasNextPage) break;
      assert.equal(typeof pageInfo.endCursor, 'string');
      after = pageInfo.endCursor;
      assert.ok(pages < 20, 'pagination does not end');
    }
    // 30 products x 3 variants per product.
    assert.equal(seen.size, 90);
    assert.equal(pages, 4);
  });

  test('variables, fragments, aliases and @include work', async () => {
    const { client } = adminClient(sim);
    const first = await send(client, VARIANT_PAGE, { variables: { first: 2 } });
    const [a, b] = first.data.productVariants.nodes;

    const document = /* GraphQL */ `
      fragment VariantFields on ProductVariant {
        id
        sku @include(if: $withSku)
        price
      }
      query TwoVariants($a: ID!, $b: ID!, $withSku: Boolean!) {
        left: productVariant(id: $a) { ...VariantFields }
        right: productVariant(id: $b) { ...VariantFields title: displayName }
        withoutSku: productVariant(id: $a) @skip(if: $withSku) { id }
      }
    `;
    const withSku = await send(client, document, { variables: { a: a.id, b: b.id, withSku: true } });
    assert.equal(withSku.errors, undefined, JSON.stringify(withSku.errors));
    assert.deepEqual(Object.keys(withSku.data).sort(), ['left', 'right']);
    assert.deepEqual(withSku.data.left, { id: a.id, sku: a.sku, price: a.price });
    assert.equal(withSku.data.right.id, b.id);
    assert.equal(withSku.data.right.sku, b.sku);
    assert.equal(typeof withSku.data.right.title, 'string');

    const noSku = await send(client, document, { variables: { a: a.id, b: b.id, withSku: false } });
    assert.equal(noSku.errors, undefined, JSON.stringify(noSku.errors));
    assert.ok(!('sku' in noSku.data.left), 'sku returned although @include(if: false)');
    assert.deepEqual(noSku.data.withoutSku, { id: a.id });
  });

  test('a wrong access token gets the client\'s 401 handling and Shopify\'s body', async () => {
    const { client, requests } = adminClient(sim, { accessToken: 'shpat_00000000000000000000000000000000', retries: 2 });
    const result = await send(client, SHOP);
    assert.equal(result.data, undefined);
    assert.equal(result.errors.networkStatusCode, 401);
    assert.equal(result.errors.message, 'GraphQL Client: Unauthorized');
    assert.deepEqual(await result.errors.response.json(), {
      errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
    });
    assert.equal(requests.length, 1, '401 must not be retried');
  });

  test('a token from the client-credentials grant works in the official client', async () => {
    // `@shopify/shopify-api`'s own clientCredentials helper is not used here: it always posts to
    // `https://${shop}/admin/oauth/access_token` through the runtime adapter's fetch, with no option
    // for the scheme or the fetch, so it cannot reach a plain-HTTP loopback simulator.
    const res = await fetch(`${sim.baseUrl}/admin/oauth/access_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ client_id: sim.info.client_id, client_secret: sim.info.client_secret, grant_type: 'client_credentials' }),
    });
    assert.equal(res.status, 200);
    const grant = await res.json();
    assert.equal(typeof grant.access_token, 'string');
    assert.equal(typeof grant.scope, 'string');
    assert.equal(typeof grant.expires_in, 'number');
    assert.notEqual(grant.access_token, sim.info.admin_token);

    const { client } = adminClient(sim, { accessToken: grant.access_token });
    const { data, errors } = await send(client, SHOP);
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.equal(data.shop.myshopifyDomain, sim.info.shop_domain);
  });

  test('a document the real schema rejects comes back as GraphQL errors, not data', async () => {
    // Deliberately invalid: graphql-js must reject it for the same field the simulator names.
    const document = '{ shop { nam } }';
    const local = schemaErrors(document);
    assert.equal(local.length, 1);
    assert.match(local[0], /Cannot query field "nam" on type "Shop"/);

    const { client } = adminClient(sim);
    const result = await client.request(document);
    assert.equal(result.data, undefined);
    assert.equal(result.errors.networkStatusCode, 200);
    assert.match(result.errors.message, /Review 'graphQLErrors' for details/);
    const [error] = result.errors.graphQLErrors;
    assert.equal(result.errors.graphQLErrors.length, 1);
    assert.equal(error.message, "Field 'nam' doesn't exist on type 'Shop'");
    assert.equal(error.extensions.code, 'undefinedField');
    assert.equal(error.extensions.fieldName, 'nam');
  });

  test('a variable of the wrong type comes back as INVALID_VARIABLE', async () => {
    const { client } = adminClient(sim);
    const result = await send(client, VARIANT_PAGE, { variables: { first: 'ten' } });
    assert.equal(result.data, undefined);
    assert.equal(result.errors.networkStatusCode, 200);
    assert.equal(result.errors.graphQLErrors[0].extensions.code, 'INVALID_VARIABLE');
  });

  describe('inventorySetQuantities with @idempotent and changeFromQuantity', () => {
    const SET = /* GraphQL */ `
      mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
        inventorySetQuantities(input: $input) @idempotent(key: $key) {
          inventoryAdjustmentGroup {
            reason
            changes { name delta item { id } location { id } }
          }
          userErrors { field message code }
        }
      }
    `;
    const LEVEL = /* GraphQL */ `
      query Level($item: ID!, $location: ID!) {
        inventoryItem(id: $item) {
          inventoryLevel(locationId: $location) {
            quantities(names: ["available", "on_hand"]) { name quantity }
          }
        }
      }
    `;
    let client;
    let item;
    let location;
    const readLevel = async () => {
      const { data, errors } = await send(client, LEVEL, { variables: { item, location } });
      assert.equal(errors, undefined, JSON.stringify(errors));
      const q = Object.fromEntries(data.inventoryItem.inventoryLevel.quantities.map((x) => [x.name, x.quantity]));
      return q;
    };
    const input = (quantity, changeFromQuantity) => ({
      name: 'available',
      reason: 'correction',
      quantities: [{ inventoryItemId: item, locationId: location, quantity, changeFromQuantity }],
    });

    before(async () => {
      ({ client } = adminClient(sim));
      const { data, errors } = await send(client, /* GraphQL */ `
        query FirstLevel {
          productVariants(first: 1) {
            nodes { inventoryItem { id inventoryLevels(first: 1) { nodes { location { id } } } } }
          }
        }
      `);
      assert.equal(errors, undefined, JSON.stringify(errors));
      item = data.productVariants.nodes[0].inventoryItem.id;
      location = data.productVariants.nodes[0].inventoryItem.inventoryLevels.nodes[0].location.id;
    });

    test('a matching changeFromQuantity sets the quantity; on_hand follows', async () => {
      const before = await readLevel();
      const target = before.available + 5;
      const result = await send(client, SET, { variables: { key: `set-${Date.now()}-ok`, input: input(target, before.available) } });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      assertCost(result.extensions);
      const payload = result.data.inventorySetQuantities;
      assert.deepEqual(payload.userErrors, []);
      const available = payload.inventoryAdjustmentGroup.changes.find((c) => c.name === 'available');
      assert.equal(available.delta, 5);
      assert.equal(available.item.id, item);
      assert.equal(available.location.id, location);
      assert.deepEqual(await readLevel(), { available: target, on_hand: before.on_hand + 5 });
    });

    test('the same idempotency key and input replays the first result without applying it twice', async () => {
      const before = await readLevel();
      const variables = { key: `set-${Date.now()}-replay`, input: input(before.available + 1, before.available) };
      const first = await send(client, SET, { variables });
      assert.deepEqual(first.data.inventorySetQuantities.userErrors, []);
      const again = await send(client, SET, { variables });
      assert.equal(again.errors, undefined, JSON.stringify(again.errors));
      assert.deepEqual(again.data.inventorySetQuantities, first.data.inventorySetQuantities);
      assert.equal((await readLevel()).available, before.available + 1);
    });

    test('a stale changeFromQuantity fails with CHANGE_FROM_QUANTITY_STALE and changes nothing', async () => {
      const before = await readLevel();
      const stale = before.available - 3;
      const result = await send(client, SET, { variables: { key: `set-${Date.now()}-stale`, input: input(before.available + 10, stale) } });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const payload = result.data.inventorySetQuantities;
      assert.equal(payload.inventoryAdjustmentGroup, null);
      assert.equal(payload.userErrors.length, 1);
      assert.equal(payload.userErrors[0].code, 'CHANGE_FROM_QUANTITY_STALE');
      assert.deepEqual(payload.userErrors[0].field, ['input', 'quantities', '0', 'changeFromQuantity']);
      assert.deepEqual(await readLevel(), before);
    });
  });
});

describe('throttling seen through the official client', () => {
  let sim;
  // The smallest bucket (40 points, 2 points/s): once drained, a 13-point query waits seconds.
  before(async () => { sim = await startSim(['--seed', '7', '--products', '30', '--plan', 'tiny']); });
  after(async () => { await sim?.stop(); });

  test('a drained bucket gives THROTTLED on HTTP 200, which the client returns without retrying', async () => {
    const document = assertValidDocument(/* GraphQL */ `
      query Variants { productVariants(first: 100) { nodes { id sku } } }
    `);
    const events = [];
    const { client, requests } = adminClient(sim, { retries: 3, logger: (l) => events.push(l.type) });

    const ok = await send(client, document);
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    assertCost(ok.extensions);
    const requested = ok.extensions.cost.requestedQueryCost;

    const drained = await sim.control('POST', '/_sim/bucket/drain', { to: 0 });
    assert.equal(drained.status, 200, JSON.stringify(drained.body));

    requests.length = 0;
    events.length = 0;
    const throttled = await send(client, document);
    assert.equal(throttled.data, undefined);
    assert.equal(throttled.errors.networkStatusCode, 200);
    assert.equal(throttled.errors.graphQLErrors.length, 1);
    assert.equal(throttled.errors.graphQLErrors[0].message, 'Throttled');
    assert.equal(throttled.errors.graphQLErrors[0].extensions.code, 'THROTTLED');
    assert.equal(throttled.headers.get('retry-after'), null);
    assert.equal(requests.length, 1, 'THROTTLED on HTTP 200 must reach the caller after one request');
    assert.ok(!events.includes('HTTP-Retry'), `client retried: ${events.join(', ')}`);
    const cost = throttled.extensions?.cost;
    assert.equal(cost.requestedQueryCost, requested);
    assert.equal(cost.actualQueryCost, null);
    assert.ok(cost.throttleStatus.currentlyAvailable < requested);
  });
});
