//! The simulated store: shop, locations, products, variants, inventory items and levels.
//!
//! Generated from a seed with a small fixed PRNG (not `rand`, whose streams may change between
//! releases), so the same seed always yields the same store, ids and timestamps included.
//! Everything lives in ordered maps keyed by numeric id: that order is Shopify's `ID` sort order.

use std::collections::BTreeMap;

use crate::clock::UnixMillis;
use crate::config::SimConfig;

/// The eight inventory quantity names of API 2026-07, in a fixed order used as array index.
pub const QUANTITY_NAMES: [&str; 8] = [
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
];

pub const AVAILABLE: usize = 0;
pub const COMMITTED: usize = 1;
pub const DAMAGED: usize = 2;
pub const INCOMING: usize = 3;
pub const ON_HAND: usize = 4;
pub const QUALITY_CONTROL: usize = 5;
pub const RESERVED: usize = 6;
pub const SAFETY_STOCK: usize = 7;

pub fn quantity_index(name: &str) -> Option<usize> {
    QUANTITY_NAMES.iter().position(|n| *n == name)
}

/// SplitMix64: tiny, fast, and stable forever.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn hex(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes * 2);
        while out.len() < bytes * 2 {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(bytes * 2);
        out
    }
}

#[derive(Debug, Clone, Default)]
pub struct Shop {
    pub id: u64,
    pub name: String,
    pub myshopify_domain: String,
    pub email: String,
    pub currency_code: String,
    pub iana_timezone: String,
    pub plan_name: String,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: u64,
    pub name: String,
    pub is_active: bool,
    pub address1: String,
    pub city: String,
    pub country_code: String,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    /// `ACTIVE`, `ARCHIVED` or `DRAFT`.
    pub status: &'static str,
    pub tags: Vec<String>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    pub variant_ids: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub title: String,
    pub sku: String,
    pub barcode: Option<String>,
    /// Prices in cents of the shop currency.
    pub price_cents: i64,
    pub compare_at_price_cents: Option<i64>,
    pub position: u32,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: &'static str,
    pub inventory_item_id: u64,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct InventoryLevel {
    pub location_id: u64,
    pub quantities: [i64; 8],
    /// When each quantity last changed (`InventoryQuantity.updatedAt`).
    pub quantity_updated_at: [UnixMillis; 8],
    pub is_active: bool,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct InventoryItem {
    pub id: u64,
    pub variant_id: u64,
    pub sku: String,
    pub tracked: bool,
    pub requires_shipping: bool,
    pub unit_cost_cents: Option<i64>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// Levels keyed by location id: an item is "stocked at" exactly these locations.
    pub levels: BTreeMap<u64, InventoryLevel>,
}

#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: u64,
    pub variant_id: u64,
    pub product_id: u64,
    pub inventory_item_id: u64,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub quantity: i64,
    /// Units not yet fulfilled (0 once fulfilled or cancelled).
    pub fulfillable_quantity: i64,
    /// Units taken off the order by its cancellation (the ones not yet shipped).
    pub removed_quantity: i64,
    pub price_cents: i64,
}

impl LineItem {
    /// `currentQuantity` / `current_quantity`: the units ordered, minus those removed.
    pub fn current_quantity(&self) -> i64 {
        self.quantity - self.removed_quantity
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub number: u64,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    pub processed_at: UnixMillis,
    pub cancelled_at: Option<UnixMillis>,
    pub closed_at: Option<UnixMillis>,
    /// The location whose stock the order committed.
    pub location_id: u64,
    pub line_items: Vec<LineItem>,
}

impl Order {
    pub fn name(&self) -> String {
        format!("#{}", self.number)
    }

    pub fn total_cents(&self) -> i64 {
        self.line_items
            .iter()
            .map(|l| l.price_cents * l.quantity)
            .sum()
    }

    /// `OrderDisplayFulfillmentStatus`.
    pub fn fulfillment_status(&self) -> &'static str {
        let open: i64 = self.line_items.iter().map(|l| l.fulfillable_quantity).sum();
        let total: i64 = self.line_items.iter().map(|l| l.quantity).sum();
        if self.cancelled_at.is_some() && open == 0 {
            "UNFULFILLED"
        } else if open == 0 {
            "FULFILLED"
        } else if open < total {
            "PARTIALLY_FULFILLED"
        } else {
            "UNFULFILLED"
        }
    }
}

/// Something that happened in the store, in the order it happened: the source for webhooks
/// (`topic` is the wire name, e.g. `inventory_levels/update`) and for state assertions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreEvent {
    pub sequence: u64,
    pub topic: &'static str,
    pub at: UnixMillis,
    /// `admin_graphql_api_id` of the resource the event is about.
    pub subject: String,
    /// The webhook body as of this moment (see `webhooks::payload`); retries resend it.
    #[serde(skip)]
    pub payload: Option<std::sync::Arc<serde_json::Value>>,
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    /// Always `Some` for a generated store (kept optional so `Store::default()` stays cheap).
    pub shop: Option<Shop>,
    pub locations: BTreeMap<u64, Location>,
    pub products: BTreeMap<u64, Product>,
    pub variants: BTreeMap<u64, Variant>,
    pub inventory_items: BTreeMap<u64, InventoryItem>,
    /// Last id handed to an `InventoryAdjustmentGroup`.
    pub next_adjustment_group_id: u64,
    pub orders: BTreeMap<u64, Order>,
    pub next_order_id: u64,
    pub next_order_number: u64,
    pub next_line_item_id: u64,
    pub events: Vec<StoreEvent>,
}

/// Why a store operation was refused (the control API answers 422 with this text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("unknown {0}")]
    Unknown(&'static str),
    #[error("not enough stock for {sku}: {available} available at the location, {wanted} ordered")]
    OutOfStock {
        sku: String,
        available: i64,
        wanted: i64,
    },
    #[error("{0}")]
    Invalid(String),
}

const DAY: i64 = 86_400_000;
const ADJECTIVES: [&str; 12] = [
    "Classic", "Organic", "Rugged", "Everyday", "Vintage", "Slim", "Heavy", "Soft", "Bright",
    "Quiet", "Coastal", "Alpine",
];
const NOUNS: [&str; 12] = [
    "Mug", "Tee", "Hoodie", "Tote", "Notebook", "Candle", "Cap", "Scarf", "Bottle", "Blanket",
    "Apron", "Poster",
];
const OPTION_VALUES: [&str; 6] = ["S", "M", "L", "XL", "Red", "Blue"];
const VENDORS: [&str; 4] = ["Northwind", "Harbor & Pine", "Kestrel Goods", "Oak Lane"];
const CITIES: [&str; 6] = ["Toronto", "Utrecht", "Leeds", "Austin", "Lyon", "Porto"];

impl Store {
    /// Builds the store for `config.seed`. Timestamps fall in the year before `config.start_time`.
    pub fn generate(config: &SimConfig) -> Self {
        let mut rng = SeededRng::new(config.seed);
        let now = config.start_time;
        let shop_created = now - 400 * DAY;
        let shop_name = format!("Shelfsync Sim {}", config.seed);
        let shop = Shop {
            id: 60_000_000_000 + rng.below(9_000_000_000),
            myshopify_domain: format!("shelfsync-sim-{}.myshopify.com", config.seed),
            email: format!("owner+{}@example.com", config.seed),
            name: shop_name,
            currency_code: "USD".into(),
            iana_timezone: "America/New_York".into(),
            plan_name: config.plan.name.clone(),
            created_at: shop_created,
        };
        let mut store = Store {
            shop: Some(shop),
            next_adjustment_group_id: 54_640_716_000_000 + rng.below(1_000_000),
            next_order_id: 6_000_000_000_000 + rng.below(1_000_000_000),
            next_order_number: 1000,
            next_line_item_id: 15_000_000_000_000 + rng.below(1_000_000_000),
            ..Store::default()
        };

        let mut location_id = 70_000_000_000 + rng.below(1_000_000);
        for i in 0..config.locations {
            location_id += 1 + rng.below(50_000);
            let city = CITIES[i % CITIES.len()];
            let name = if i == 0 {
                "Shop location".to_owned()
            } else {
                format!("{city} warehouse {i}")
            };
            store.locations.insert(
                location_id,
                Location {
                    id: location_id,
                    name,
                    is_active: true,
                    address1: format!("{} Main Street", 10 + rng.below(990)),
                    city: city.into(),
                    country_code: "US".into(),
                    created_at: shop_created + i as i64 * DAY,
                    updated_at: shop_created + i as i64 * DAY,
                },
            );
        }
        let location_ids: Vec<u64> = store.locations.keys().copied().collect();

        let mut product_id = 8_000_000_000_000 + rng.below(1_000_000_000);
        let mut variant_id = 45_000_000_000_000 + rng.below(1_000_000_000);
        let mut item_id = 47_000_000_000_000 + rng.below(1_000_000_000);
        for p in 0..config.products {
            product_id += 1 + rng.below(5_000);
            let title = format!(
                "{} {} {}",
                ADJECTIVES[rng.below(ADJECTIVES.len() as u64) as usize],
                NOUNS[rng.below(NOUNS.len() as u64) as usize],
                p + 1
            );
            let handle = title.to_lowercase().replace(' ', "-");
            let created_at = now - 365 * DAY + rng.below(300 * DAY as u64) as i64;
            let updated_at = created_at + rng.below((now - created_at) as u64) as i64;
            let status = match rng.below(20) {
                0 => "DRAFT",
                1 => "ARCHIVED",
                _ => "ACTIVE",
            };
            let mut variant_ids = Vec::with_capacity(config.variants_per_product);
            for v in 0..config.variants_per_product {
                variant_id += 1 + rng.below(5_000);
                item_id += 1 + rng.below(5_000);
                let sku = format!("SKU-{:05}-{}", p + 1, v + 1);
                let price_cents = 500 + rng.below(20_000) as i64 / 100 * 100 - 1;
                let compare_at_price_cents = rng
                    .chance(30)
                    .then(|| price_cents + 100 + rng.below(5_000) as i64 / 100 * 100);
                let v_updated =
                    created_at + rng.below((updated_at - created_at).max(1) as u64) as i64;
                store.variants.insert(
                    variant_id,
                    Variant {
                        id: variant_id,
                        product_id,
                        title: if config.variants_per_product == 1 {
                            "Default Title".into()
                        } else {
                            OPTION_VALUES[v % OPTION_VALUES.len()].to_owned()
                        },
                        sku: sku.clone(),
                        barcode: rng
                            .chance(50)
                            .then(|| format!("{:013}", rng.below(10_u64.pow(13)))),
                        price_cents,
                        compare_at_price_cents,
                        position: v as u32 + 1,
                        inventory_policy: if rng.chance(10) { "CONTINUE" } else { "DENY" },
                        inventory_item_id: item_id,
                        created_at,
                        updated_at: v_updated,
                    },
                );
                let mut levels = BTreeMap::new();
                for (li, &loc) in location_ids.iter().enumerate() {
                    // Every item is stocked at the first location; about one in eight is not
                    // stocked at each other location.
                    if li > 0 && rng.chance(12) {
                        continue;
                    }
                    let mut q = [0_i64; 8];
                    q[AVAILABLE] = rng.below(120) as i64;
                    q[COMMITTED] = if rng.chance(30) {
                        rng.below(6) as i64
                    } else {
                        0
                    };
                    q[INCOMING] = if rng.chance(20) {
                        rng.below(50) as i64
                    } else {
                        0
                    };
                    q[RESERVED] = if rng.chance(10) {
                        rng.below(4) as i64
                    } else {
                        0
                    };
                    q[DAMAGED] = if rng.chance(5) {
                        rng.below(3) as i64
                    } else {
                        0
                    };
                    q[SAFETY_STOCK] = if rng.chance(10) {
                        rng.below(5) as i64
                    } else {
                        0
                    };
                    q[QUALITY_CONTROL] = if rng.chance(5) {
                        rng.below(3) as i64
                    } else {
                        0
                    };
                    q[ON_HAND] = on_hand_of(&q);
                    let level_updated =
                        created_at + rng.below((now - created_at).max(1) as u64) as i64;
                    levels.insert(
                        loc,
                        InventoryLevel {
                            location_id: loc,
                            quantities: q,
                            quantity_updated_at: [level_updated; 8],
                            is_active: true,
                            created_at,
                            updated_at: level_updated,
                        },
                    );
                }
                let item_updated = levels
                    .values()
                    .map(|l| l.updated_at)
                    .max()
                    .unwrap_or(created_at)
                    .max(created_at);
                store.inventory_items.insert(
                    item_id,
                    InventoryItem {
                        id: item_id,
                        variant_id,
                        sku,
                        tracked: !rng.chance(5),
                        requires_shipping: true,
                        unit_cost_cents: rng.chance(60).then_some(price_cents / 2),
                        created_at,
                        updated_at: item_updated,
                        levels,
                    },
                );
                variant_ids.push(variant_id);
            }
            store.products.insert(
                product_id,
                Product {
                    id: product_id,
                    title,
                    handle,
                    vendor: VENDORS[rng.below(VENDORS.len() as u64) as usize].into(),
                    product_type: NOUNS[p % NOUNS.len()].into(),
                    status,
                    tags: vec![format!("batch-{}", p % 7)],
                    created_at,
                    updated_at,
                    variant_ids,
                },
            );
        }
        store
    }

    pub fn record(&mut self, topic: &'static str, at: UnixMillis, subject: String) {
        let sequence = self.events.len() as u64 + 1;
        let payload =
            crate::webhooks::payload::for_event(self, topic, &subject, at).map(std::sync::Arc::new);
        self.events.push(StoreEvent {
            sequence,
            topic,
            at,
            subject,
            payload,
        });
    }

    /// Places an order as a customer would: each line moves `available` to `committed` at
    /// `location` (default: the first location stocking every line). Fires
    /// `inventory_levels/update`, `orders/create` and, the payment being captured at checkout,
    /// `orders/paid`. Variants with policy `DENY` cannot oversell.
    pub fn place_order(
        &mut self,
        lines: &[(u64, i64)],
        location: Option<u64>,
        now: UnixMillis,
    ) -> Result<u64, StoreError> {
        if lines.is_empty() || lines.iter().any(|(_, q)| *q <= 0) {
            return Err(StoreError::Invalid(
                "an order needs lines with positive quantities".into(),
            ));
        }
        let mut resolved = Vec::new();
        for (variant_id, quantity) in lines {
            let variant = self
                .variants
                .get(variant_id)
                .ok_or(StoreError::Unknown("variant"))?;
            resolved.push((variant.clone(), *quantity));
        }
        let location = match location {
            Some(l) if self.locations.contains_key(&l) => l,
            Some(_) => return Err(StoreError::Unknown("location")),
            None => *self
                .locations
                .keys()
                .find(|l| {
                    resolved.iter().all(|(v, _)| {
                        self.inventory_items
                            .get(&v.inventory_item_id)
                            .is_some_and(|i| i.levels.contains_key(l))
                    })
                })
                .ok_or(StoreError::Invalid("no location stocks every line".into()))?,
        };
        for (variant, quantity) in &resolved {
            let level = self
                .inventory_items
                .get(&variant.inventory_item_id)
                .and_then(|i| i.levels.get(&location))
                .ok_or(StoreError::Invalid(format!(
                    "{} is not stocked at the location",
                    variant.sku
                )))?;
            if variant.inventory_policy == "DENY" && level.quantities[AVAILABLE] < *quantity {
                return Err(StoreError::OutOfStock {
                    sku: variant.sku.clone(),
                    available: level.quantities[AVAILABLE],
                    wanted: *quantity,
                });
            }
        }
        self.next_order_id += 1 + (self.next_order_number % 7);
        self.next_order_number += 1;
        let id = self.next_order_id;
        let mut line_items = Vec::new();
        for (variant, quantity) in &resolved {
            self.move_quantity(
                variant.inventory_item_id,
                location,
                AVAILABLE,
                COMMITTED,
                *quantity,
                now,
            );
            self.next_line_item_id += 1;
            let product = self.products.get(&variant.product_id);
            line_items.push(LineItem {
                id: self.next_line_item_id,
                variant_id: variant.id,
                product_id: variant.product_id,
                inventory_item_id: variant.inventory_item_id,
                sku: variant.sku.clone(),
                title: product.map(|p| p.title.clone()).unwrap_or_default(),
                variant_title: variant.title.clone(),
                quantity: *quantity,
                fulfillable_quantity: *quantity,
                removed_quantity: 0,
                price_cents: variant.price_cents,
            });
        }
        let order = Order {
            id,
            number: self.next_order_number,
            created_at: now,
            updated_at: now,
            processed_at: now,
            cancelled_at: None,
            closed_at: None,
            location_id: location,
            line_items,
        };
        self.orders.insert(id, order);
        self.record("orders/create", now, format!("gid://shopify/Order/{id}"));
        self.record("orders/paid", now, format!("gid://shopify/Order/{id}"));
        Ok(id)
    }

    /// Ships every open unit: `committed` and `on_hand` go down.
    pub fn fulfill_order(&mut self, id: u64, now: UnixMillis) -> Result<(), StoreError> {
        let order = self
            .orders
            .get(&id)
            .ok_or(StoreError::Unknown("order"))?
            .clone();
        if order.cancelled_at.is_some() {
            return Err(StoreError::Invalid(
                "a cancelled order cannot be fulfilled".into(),
            ));
        }
        for line in order
            .line_items
            .iter()
            .filter(|l| l.fulfillable_quantity > 0)
        {
            let q = line.fulfillable_quantity;
            self.adjust_level(
                line.inventory_item_id,
                order.location_id,
                &[(COMMITTED, -q), (ON_HAND, -q)],
                now,
            );
        }
        if let Some(o) = self.orders.get_mut(&id) {
            o.line_items
                .iter_mut()
                .for_each(|l| l.fulfillable_quantity = 0);
            o.updated_at = now;
            o.closed_at = Some(now);
        }
        self.record("orders/fulfilled", now, format!("gid://shopify/Order/{id}"));
        self.record("orders/updated", now, format!("gid://shopify/Order/{id}"));
        Ok(())
    }

    /// Cancels and restocks the open units: `committed` back to `available`.
    pub fn cancel_order(&mut self, id: u64, now: UnixMillis) -> Result<(), StoreError> {
        let order = self
            .orders
            .get(&id)
            .ok_or(StoreError::Unknown("order"))?
            .clone();
        if order.cancelled_at.is_some() {
            return Err(StoreError::Invalid("the order is already cancelled".into()));
        }
        for line in order
            .line_items
            .iter()
            .filter(|l| l.fulfillable_quantity > 0)
        {
            self.move_quantity(
                line.inventory_item_id,
                order.location_id,
                COMMITTED,
                AVAILABLE,
                line.fulfillable_quantity,
                now,
            );
        }
        if let Some(o) = self.orders.get_mut(&id) {
            for line in &mut o.line_items {
                line.removed_quantity = line.fulfillable_quantity;
                line.fulfillable_quantity = 0;
            }
            o.cancelled_at = Some(now);
            o.closed_at = Some(now);
            o.updated_at = now;
        }
        self.record("orders/cancelled", now, format!("gid://shopify/Order/{id}"));
        self.record("orders/updated", now, format!("gid://shopify/Order/{id}"));
        Ok(())
    }

    /// Moves `quantity` units between two quantity names at one level (`on_hand` unchanged).
    fn move_quantity(
        &mut self,
        item: u64,
        location: u64,
        from: usize,
        to: usize,
        quantity: i64,
        now: UnixMillis,
    ) {
        self.adjust_level(item, location, &[(from, -quantity), (to, quantity)], now);
    }

    /// Applies deltas to one level, bumps timestamps and records `inventory_levels/update`.
    pub fn adjust_level(
        &mut self,
        item_id: u64,
        location: u64,
        deltas: &[(usize, i64)],
        now: UnixMillis,
    ) {
        let Some(item) = self.inventory_items.get_mut(&item_id) else {
            return;
        };
        let Some(level) = item.levels.get_mut(&location) else {
            return;
        };
        for &(index, delta) in deltas {
            if delta != 0 {
                level.quantities[index] += delta;
                level.quantity_updated_at[index] = now;
            }
        }
        level.updated_at = now;
        item.updated_at = now;
        self.record(
            "inventory_levels/update",
            now,
            format!("gid://shopify/InventoryLevel/{location}?inventory_item_id={item_id}"),
        );
    }

    /// A merchant editing a price in the admin; fires `products/update`.
    pub fn set_price(
        &mut self,
        variant_id: u64,
        price_cents: i64,
        compare_at_price_cents: Option<i64>,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        if price_cents < 0 {
            return Err(StoreError::Invalid(
                "Price must be greater than or equal to 0".into(),
            ));
        }
        let variant = self
            .variants
            .get_mut(&variant_id)
            .ok_or(StoreError::Unknown("variant"))?;
        variant.price_cents = price_cents;
        variant.compare_at_price_cents = compare_at_price_cents;
        variant.updated_at = now;
        let product_id = variant.product_id;
        if let Some(p) = self.products.get_mut(&product_id) {
            p.updated_at = now;
        }
        self.record(
            "products/update",
            now,
            format!("gid://shopify/Product/{product_id}"),
        );
        Ok(())
    }

    pub fn shop(&self) -> &Shop {
        static EMPTY: std::sync::LazyLock<Shop> = std::sync::LazyLock::new(Shop::default);
        self.shop.as_ref().unwrap_or(&EMPTY)
    }

    /// Sum of `available` over the item's active levels (`ProductVariant.inventoryQuantity`).
    pub fn variant_inventory_quantity(&self, variant: &Variant) -> i64 {
        self.inventory_items
            .get(&variant.inventory_item_id)
            .map(|item| {
                item.levels
                    .values()
                    .filter(|l| l.is_active)
                    .map(|l| l.quantities[AVAILABLE])
                    .sum()
            })
            .unwrap_or(0)
    }

    pub fn product_total_inventory(&self, product: &Product) -> i64 {
        product
            .variant_ids
            .iter()
            .filter_map(|id| self.variants.get(id))
            .map(|v| self.variant_inventory_quantity(v))
            .sum()
    }
}

/// `on_hand` = available + committed + the unavailable states; `incoming` is separate (FACTS §5).
pub fn on_hand_of(q: &[i64; 8]) -> i64 {
    q[AVAILABLE] + q[COMMITTED] + q[DAMAGED] + q[QUALITY_CONTROL] + q[RESERVED] + q[SAFETY_STOCK]
}

/// Money as Shopify's decimal string: `"24.00"`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            products: 30,
            variants_per_product: 3,
            locations: 3,
            ..SimConfig::default()
        }
    }

    #[test]
    fn same_seed_same_store_other_seed_other_store() {
        let a = Store::generate(&config(7));
        let b = Store::generate(&config(7));
        let c = Store::generate(&config(8));
        let skus = |s: &Store| {
            s.variants
                .values()
                .map(|v| (v.id, v.price_cents))
                .collect::<Vec<_>>()
        };
        assert_eq!(skus(&a), skus(&b));
        assert_ne!(skus(&a), skus(&c));
        assert_eq!(a.variants.len(), 90);
        assert_eq!(a.inventory_items.len(), 90);
        assert_eq!(a.locations.len(), 3);
    }

    #[test]
    fn on_hand_is_consistent_everywhere() {
        let s = Store::generate(&config(3));
        for item in s.inventory_items.values() {
            assert!(item.levels.contains_key(s.locations.keys().next().unwrap()));
            for level in item.levels.values() {
                assert_eq!(level.quantities[ON_HAND], on_hand_of(&level.quantities));
            }
        }
    }

    #[test]
    fn money_formats_like_shopify() {
        assert_eq!(money(2400), "24.00");
        assert_eq!(money(1999), "19.99");
        assert_eq!(money(5), "0.05");
    }
}
