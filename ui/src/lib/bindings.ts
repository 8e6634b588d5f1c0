// This file is generated from the Rust types by `cargo test -p shelfsync-desktop` (bindings test). Do not edit.

export type AppInfo = { productName: string, version: string, engineVersion: string, };

export type ErrorCode = "not_connected" | "credentials" | "keychain" | "store_unreachable" | "invalid_input" | "conflict" | "internal";

export type UiError = { code: ErrorCode, message: string, 
/**
 * The form field the problem is about (e.g. `port`), so the UI shows it where the
 * person typed; absent for problems that are not about one field.
 */
field?: string, };

export type StoreView = { 
/**
 * The store's address (a `*.myshopify.com` domain, or the demo store's local URL).
 */
address: string, name: string, 
/**
 * `client_credentials` or `admin_token`.
 */
auth: string, 
/**
 * Whether this is the built-in demo store.
 */
demo: boolean, };

export type BucketView = { maximum: number, available: number, restoreRate: number, throttled: number, answered: number, };

export type QueueView = { pending: number, running: number, done: number, failed: number, };

export type CacheView = { locations: number, products: number, variants: number, levels: number, orders: number, };

export type LastSyncView = { 
/**
 * `products`, `inventory_levels`, …
 */
resource: string, 
/**
 * Everything Shopify changed up to this time is in the cache.
 */
coversUntil: string, 
/**
 * When Shelfsync last moved it.
 */
syncedAt: string, };

export type ReconciliationRunView = { 
/**
 * RFC 3339.
 */
startedAt: string, 
/**
 * RFC 3339.
 */
finishedAt: string, 
/**
 * Why it ran: `scheduled`, `start`, `wake`, `subscription` or `manual`.
 */
reason: string, 
/**
 * Records the store reported changed since the pass before.
 */
checked: number, 
/**
 * Changes the local copy had not received through webhooks.
 */
repaired: number, };

export type ReconciliationView = { last: ReconciliationRunView | null, 
/**
 * Changes webhooks missed over the last 24 hours.
 */
repairedLastDay: number, };

export type StatusView = { store: StoreView | null, tokenExpiresAt: string | null, bucket: BucketView | null, cache: CacheView | null, queue: QueueView | null, lastSyncs: Array<LastSyncView>, 
/**
 * Webhook intake, while a store is connected.
 */
intake?: IntakeView, 
/**
 * What reconciliation found, while a store is connected.
 */
reconciliation?: ReconciliationView, };

export type InventoryRow = { variantId: number, sku: string | null, title: string, productTitle: string, 
/**
 * Decimal text as Shopify sends it.
 */
price: string, totalAvailable: number, };

export type InventoryPage = { rows: Array<InventoryRow>, 
/**
 * Read in the same transaction as `rows`.
 */
total: number, };

export type ConnectRequest = { 
/**
 * A `*.myshopify.com` domain or a full URL.
 */
address: string, 
/**
 * Set for the client-credentials grant; absent for an admin token.
 */
clientId: string | null, };

export type UiEvent = { "type": "syncProgress", full: boolean, rows: number, total: number | null, rowsPerSec: number, secondsLeft: number | null, } | { "type": "syncFinished", full: boolean, rows: number, elapsedMs: number, } | { "type": "bucket", bucket: BucketView, } | { "type": "queue", queue: QueueView, } | { "type": "job", id: number, kind: string, 
/**
 * `pending`, `running`, `done` or `failed`.
 */
state: string, attempts: number, lastError: string | null, } | { "type": "attention", title: string, message: string, } | { "type": "intakePath", stats: PathView, } | { "type": "subscription", topic: string, uri: string, 
/**
 * `registered`, `lost` or `restored`.
 */
change: string, } | { "type": "relay", reachable: boolean, error: string | null, retryInMs: number | null, } | { "type": "newOrder", id: number, name: string, totalPrice: string, currencyCode: string, units: number, firstLine: string | null, } | { "type": "lowStock", variantId: number, sku: string | null, title: string, available: number, threshold: number, } | { "type": "reconciled", reason: string, checked: number, repaired: number, repairedLastDay: number, } | { "type": "bulkProgress", 
/**
 * The bulk update's id.
 */
id: number, 
/**
 * Reversing what was applied (a rollback or an undo) rather than applying.
 */
reversing: boolean, done: number, total: number, 
/**
 * Rows per second so far.
 */
rate: number, secondsLeft: number | null, } | { "type": "bulkFinished", fileName: string, outcome: BulkOutcomeView, };

export type FailedJobView = { id: number, 
/**
 * What the job was, in words (e.g. "Incremental sync").
 */
what: string, 
/**
 * Why it failed, in words a person understands.
 */
error: string, attempts: number, 
/**
 * When it last changed state (RFC 3339).
 */
failedAt: string, };

export type ActivityView = { id: number, 
/**
 * When it was recorded (RFC 3339).
 */
at: string, 
/**
 * Where the change came from: `poll`, `webhook`, `user`, `retry`, `import` or
 * `reconciliation`.
 */
source: string, 
/**
 * `inventory_level`, `variant`, `product` or `job`.
 */
entity: string, entityId: string, field: string, before: string | null, after: string | null, };

export type OrderStatusView = "open" | "fulfilled" | "cancelled";

export type OrderLineView = { id: number, variantId: number | null, sku: string | null, 
/**
 * The product's title at the time of sale.
 */
title: string, 
/**
 * The variant's title (`Small`); absent for a product's only variant.
 */
variantTitle: string | null, 
/**
 * Units ordered.
 */
quantity: number, 
/**
 * Units sold and not shipped yet: held as committed stock.
 */
committed: number, 
/**
 * Units shipped (they left on-hand stock).
 */
shipped: number, 
/**
 * Units no longer on the order (cancelled or removed): back in available stock.
 */
backInStock: number, 
/**
 * Unit price, decimal text as Shopify sends it.
 */
price: string, };

export type OrderView = { id: number, 
/**
 * `#1001`.
 */
name: string, 
/**
 * When it was placed (RFC 3339, as Shopify sent it).
 */
createdAt: string, status: OrderStatusView, 
/**
 * Decimal text as Shopify sends it.
 */
totalPrice: string, currencyCode: string, 
/**
 * `PAID`, `PENDING`, …
 */
financialStatus: string | null, lines: Array<OrderLineView>, };

export type SkuThresholdView = { sku: string, threshold: number, };

export type Settings = { 
/**
 * Seconds between incremental syncs (10 to 3600).
 */
pollIntervalSecs: number, 
/**
 * Stock at or below this is shown as low.
 */
lowStockThreshold: number, 
/**
 * Notify when a job failed after its retries and waits for a person.
 */
notifyFailedJobs: boolean, 
/**
 * Notify when the store must be connected again.
 */
notifyReconnect: boolean, 
/**
 * Notify when a full sync finished.
 */
notifySyncFinished: boolean, 
/**
 * Notify when Shopify removed a webhook subscription (Shelfsync creates it again).
 */
notifySubscriptionLost: boolean, 
/**
 * Notify when the cloud relay's queue cannot be read.
 */
notifyRelayUnreachable: boolean, 
/**
 * Notify when a customer places an order.
 */
notifyNewOrders: boolean, 
/**
 * Notify when a variant's stock falls to its low-stock line.
 */
notifyLowStock: boolean, 
/**
 * Notify when a bulk update is applied, rolled back or undone.
 */
notifyBulkUpdates: boolean, 
/**
 * Start Shelfsync when you log in.
 */
startAtLogin: boolean, };

export type SettingsView = { settings: Settings, problem: string | null, };

export type PathView = { 
/**
 * `listener` or `relay`.
 */
path: string, accepted: number, duplicates: number, 
/**
 * Refused with 401: the signature did not match.
 */
refusedForged: number, 
/**
 * Refused with 400: a header missing, an empty body, another shop.
 */
refusedMalformed: number, 
/**
 * Refused with 413: too large.
 */
refusedOversized: number, 
/**
 * When the last event arrived (RFC 3339).
 */
lastEventAt: string | null, };

export type SubscriptionView = { 
/**
 * `INVENTORY_LEVELS_UPDATE`, …
 */
topic: string, uri: string, 
/**
 * Shopify listed it at the last check.
 */
present: boolean, 
/**
 * How many times it was lost and created again.
 */
restored: number, };

export type RelayView = { queueUrl: string, region: string, 
/**
 * `None` until the first poll ends.
 */
reachable: boolean | null, error: string | null, };

export type IntakeView = { 
/**
 * The listener's address while it runs.
 */
listeningOn: string | null, publicUrl: string | null, relay: RelayView | null, paths: Array<PathView>, subscriptions: Array<SubscriptionView>, };

export type WebhookSettings = { 
/**
 * Run the listener on 127.0.0.1 (never on other interfaces).
 */
listen: boolean, 
/**
 * Its port on 127.0.0.1 (1024 to 65535).
 */
port: number, 
/**
 * The tunnel's public `https://` address, which Shelfsync subscribes in Shopify.
 */
publicUrl: string | null, 
/**
 * The cloud relay's SQS queue URL.
 */
relayQueueUrl: string | null, 
/**
 * Its AWS region; empty takes the one in the queue URL.
 */
relayRegion: string | null, 
/**
 * The Shopify partner event source on EventBridge (`arn:aws:events:…`), which Shelfsync
 * subscribes in Shopify.
 */
relayEventSource: string | null, };

export type WebhookSecrets = { 
/**
 * The app's API secret key (`shpss_…`) that signs an admin-token store's webhooks.
 */
signingSecret: string | null, relayAccessKeyId: string | null, relaySecretAccessKey: string | null, };

export type WebhookSettingsView = { settings: WebhookSettings, 
/**
 * A signing key is in the keychain for the connected store.
 */
signingSecretSaved: boolean, 
/**
 * The relay's AWS access key is in the keychain for the connected store.
 */
relayKeySaved: boolean, 
/**
 * The connected store signs in with an admin token, so the signing key is needed.
 */
needsSigningSecret: boolean, 
/**
 * The listener's address while it runs (`127.0.0.1:8787`).
 */
listeningOn: string | null, 
/**
 * The relay's queue while it is read.
 */
relayQueue: string | null, 
/**
 * Why intake did not start the last time it was tried, if it did not.
 */
problem: UiError | null, 
/**
 * The demo store runs its own intake behind a simulated tunnel; these settings are for
 * the owner's store.
 */
demo: boolean, };

export type TestDeliveryView = { 
/**
 * `listener` or `relay`.
 */
path: string, 
/**
 * The tunnel's public URL or the EventBridge event source it was sent to.
 */
address: string, 
/**
 * Whether a test event could be sent at all.
 */
sent: boolean, 
/**
 * Whether it reached the inbox in time.
 */
arrived: boolean, 
/**
 * From sending to its commit in the inbox.
 */
afterMs: number | null, 
/**
 * What went wrong or what to do, in plain words.
 */
detail: string | null, };

export type TestWebhookReportView = { deliveries: Array<TestDeliveryView>, };

export type FileFormatView = "shopify-inventory" | "shopify-product" | "plain-quantity" | "plain-price";

export type QuantityFieldView = "available" | "on_hand";

export type QuantityRowView = { 
/**
 * The file's row, as a spreadsheet numbers it (the header is row 1).
 */
row: number, sku: string, productId: number, productTitle: string, variantId: number, 
/**
 * Empty for a product's only variant.
 */
variantTitle: string, location: string, field: QuantityFieldView, 
/**
 * The store's value when the plan was made, read live from Shopify.
 */
before: number, after: number, delta: number, 
/**
 * Shelfsync's copy, when it differed from the store's value: the store changed since
 * the last sync.
 */
cached: number | null, 
/**
 * Beyond the plan's large-change line.
 */
large: boolean, };

export type PriceRowView = { row: number, sku: string, productId: number, productTitle: string, variantId: number, variantTitle: string, beforePrice: string, afterPrice: string, beforeCompareAt: string | null, afterCompareAt: string | null, 
/**
 * Whether the price or the compare-at price changes.
 */
changes: boolean, large: boolean, };

export type ProblemView = { row: number, 
/**
 * The header's name of the column, when the problem is in one.
 */
column: string | null, 
/**
 * `not-a-number`, `negative`, `duplicate`, `unknown-sku`, … (for filtering).
 */
kind: string, message: string, };

export type PlanSummaryView = { 
/**
 * Records after the header.
 */
fileRows: number, quantityChanges: number, priceChanges: number, 
/**
 * Rows that name the value the store already has.
 */
unchanged: number, large: number, problems: number, 
/**
 * Rows whose store value changed since Shelfsync's last sync.
 */
changedInStore: number, unitsAdded: number, 
/**
 * A positive number.
 */
unitsRemoved: number, 
/**
 * Requests it took to read the store's current values.
 */
requests: number, };

export type BulkPlanView = { 
/**
 * Give this back to apply the plan; it names this plan and no other.
 */
handle: number, fileName: string, format: FileFormatView, 
/**
 * When the store's values were read (RFC 3339).
 */
readAt: string, 
/**
 * A quantity change is large beyond this share of its value before, in percent…
 */
largePercent: number, 
/**
 * …or beyond this many units.
 */
largeUnits: number, summary: PlanSummaryView, 
/**
 * In file order.
 */
quantities: Array<QuantityRowView>, prices: Array<PriceRowView>, 
/**
 * By row.
 */
problems: Array<ProblemView>, };

export type BulkModeView = "all-or-nothing" | "skip-conflicts";

export type BulkStateView = "applying" | "applied" | "rolling-back" | "rolled-back" | "undoing" | "undone";

export type RecoveryView = "roll-back" | "finish";

export type ConflictView = { row: number, sku: string, location: string | null, 
/**
 * `available`, `on_hand` or `price`.
 */
field: string, 
/**
 * What the plan (or the apply) expected to find.
 */
expected: string, 
/**
 * What the store holds now; absent when it could not be read.
 */
current: string | null, reason: string, };

export type BulkOutcomeView = { 
/**
 * The journal's id: give it back to undo the update.
 */
id: number, state: BulkStateView, mode: BulkModeView, 
/**
 * Rows the store holds from this update now.
 */
applied: number, 
/**
 * Rows whose change was reversed.
 */
reversed: number, 
/**
 * Rows left out because the store had changed them ("skip conflicting rows").
 */
skipped: Array<ConflictView>, 
/**
 * What made an all-or-nothing update stop, when it did.
 */
stoppedBy: string | null, 
/**
 * Changes that could not be reversed cleanly, with the store's current value.
 */
notReversed: Array<ConflictView>, };

export type BulkSummaryView = { id: number, fileName: string, mode: BulkModeView, state: BulkStateView, 
/**
 * Whether a crash stopped it midway (it waits on the Bulk update page).
 */
unfinished: boolean, quantityChanges: number, priceChanges: number, 
/**
 * RFC 3339.
 */
createdAt: string, 
/**
 * RFC 3339.
 */
finishedAt: string | null, outcome: BulkOutcomeView | null, };

export type UndoRowView = { row: number, sku: string, location: string | null, 
/**
 * `available`, `on_hand` or `price`.
 */
field: string, 
/**
 * What the update wrote.
 */
applied: string, 
/**
 * What the store holds now.
 */
current: string, 
/**
 * What the store will hold after the undo.
 */
afterUndo: string, };

export type UndoPreviewView = { id: number, reverse: Array<UndoRowView>, 
/**
 * Changes the undo leaves alone, because reversing them would overwrite what the store
 * holds now.
 */
leave: Array<ConflictView>, };

export type Commands = { app_info: { args: Record<string, never>, result: AppInfo }, get_status: { args: Record<string, never>, result: StatusView }, connect_store: { args: { request: ConnectRequest, secret: string }, result: StoreView }, start_demo: { args: Record<string, never>, result: StoreView }, sync_now: { args: { full: boolean }, result: null }, search_inventory: { args: { query: string, limit: number, offset: number }, result: InventoryPage }, list_failed_jobs: { args: Record<string, never>, result: Array<FailedJobView> }, retry_job: { args: { id: number }, result: null }, retry_all_jobs: { args: Record<string, never>, result: number }, discard_job: { args: { id: number }, result: null }, recent_activity: { args: { limit: number }, result: Array<ActivityView> }, recent_orders: { args: { status: OrderStatusView | null, limit: number }, result: Array<OrderView> }, reconcile_now: { args: Record<string, never>, result: null }, sku_thresholds: { args: Record<string, never>, result: Array<SkuThresholdView> }, set_sku_threshold: { args: { sku: string, threshold: number | null }, result: Array<SkuThresholdView> }, get_settings: { args: Record<string, never>, result: SettingsView }, save_settings: { args: { settings: Settings }, result: Settings }, get_webhook_settings: { args: Record<string, never>, result: WebhookSettingsView }, save_webhook_settings: { args: { settings: WebhookSettings, secrets: WebhookSecrets }, result: WebhookSettingsView }, send_test_webhook: { args: Record<string, never>, result: TestWebhookReportView }, plan_bulk_update: { args: { path: string }, result: BulkPlanView }, apply_bulk_update: { args: { handle: number, mode: BulkModeView, skipProblems: boolean }, result: BulkOutcomeView }, bulk_undo_preview: { args: { id: number }, result: UndoPreviewView }, undo_bulk_update: { args: { id: number }, result: BulkOutcomeView }, recover_bulk_update: { args: { id: number, choice: RecoveryView }, result: BulkOutcomeView }, list_bulk_updates: { args: { limit: number }, result: Array<BulkSummaryView> }, unfinished_bulk_updates: { args: Record<string, never>, result: Array<BulkSummaryView> }, };

/** The channel engine events arrive on. */
export const ENGINE_EVENT = "engine-event";
