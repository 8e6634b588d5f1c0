//! Orders in the app: the engine's orders in the shape the Orders page shows, what each line
//! did to stock, which order and stock events deserve a desktop notification, and the checks
//! on a per-SKU low-stock line the owner types.
//!
//! An order line's stock effect is worked out here, once, from the quantities Shopify keeps
//! on the line (ordered, still on the order, still to ship), so the page only words it: the
//! units still to ship are held as `committed` stock, the units no longer on the order (a
//! cancellation, or an edit that removed them) went back to `available`, the rest shipped.
//! Every new order and every fall to a low-stock line is worth a glance, so both notify;
//! bursts (the demo store places an order every few seconds) are coalesced by the caller.

use crate::error::{ErrorCode, UiError};
use crate::intake::Notice;
use crate::settings::NoticeKind;
use serde::{Deserialize, Serialize};
use shelfsync_engine::{LowStockNotice, OrderNotice};
use shelfsync_store::{LineItem, Order, OrderStatus};
use ts_rs::TS;

/// Where an order stands: the Orders page's filter and badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatusView {
    /// Units still to ship: their stock is committed.
    Open,
    /// Everything shipped.
    Fulfilled,
    /// Cancelled; what had not shipped went back to available stock.
    Cancelled,
}

impl From<OrderStatus> for OrderStatusView {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Open => OrderStatusView::Open,
            OrderStatus::Fulfilled => OrderStatusView::Fulfilled,
            OrderStatus::Cancelled => OrderStatusView::Cancelled,
        }
    }
}

impl From<OrderStatusView> for OrderStatus {
    fn from(s: OrderStatusView) -> Self {
        match s {
            OrderStatusView::Open => OrderStatus::Open,
            OrderStatusView::Fulfilled => OrderStatus::Fulfilled,
            OrderStatusView::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// One line of an order and what it did to stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number | null")]
    pub variant_id: Option<i64>,
    pub sku: Option<String>,
    /// The product's title at the time of sale.
    pub title: String,
    /// The variant's title (`Small`); absent for a product's only variant.
    pub variant_title: Option<String>,
    /// Units ordered.
    #[ts(type = "number")]
    pub quantity: i64,
    /// Units sold and not shipped yet: held as committed stock.
    #[ts(type = "number")]
    pub committed: i64,
    /// Units shipped (they left on-hand stock).
    #[ts(type = "number")]
    pub shipped: i64,
    /// Units no longer on the order (cancelled or removed): back in available stock.
    #[ts(type = "number")]
    pub back_in_stock: i64,
    /// Unit price, decimal text as Shopify sends it.
    pub price: String,
}

impl OrderLineView {
    fn from_line(l: LineItem, cancelled: bool) -> Self {
        let quantity = l.quantity.max(0);
        let current = l.current_quantity.clamp(0, quantity);
        // A cancelled order holds nothing back any more, whatever its lines still say.
        let committed = if cancelled {
            0
        } else {
            l.unfulfilled_quantity.clamp(0, current)
        };
        let unshipped = l.unfulfilled_quantity.clamp(0, current);
        let shipped = current - unshipped;
        let back_in_stock = quantity - current + if cancelled { unshipped } else { 0 };
        Self {
            id: l.id,
            variant_id: l.variant_id,
            sku: l.sku,
            title: l.title,
            variant_title: l
                .variant_title
                .filter(|v| !v.is_empty() && v != "Default Title"),
            quantity,
            committed,
            shipped,
            back_in_stock,
            price: l.price.as_str().to_owned(),
        }
    }
}

/// An order as the Orders page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    #[ts(type = "number")]
    pub id: i64,
    /// `#1001`.
    pub name: String,
    /// When it was placed (RFC 3339, as Shopify sent it).
    pub created_at: String,
    pub status: OrderStatusView,
    /// Decimal text as Shopify sends it.
    pub total_price: String,
    pub currency_code: String,
    /// `PAID`, `PENDING`, …
    pub financial_status: Option<String>,
    pub lines: Vec<OrderLineView>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        let status = o.status();
        let cancelled = status == OrderStatus::Cancelled;
        Self {
            id: o.id,
            name: o.name,
            created_at: o.created_at.as_str().to_owned(),
            status: status.into(),
            total_price: o.total_price.as_str().to_owned(),
            currency_code: o.currency_code,
            financial_status: o.financial_status,
            lines: o
                .line_items
                .into_iter()
                .map(|l| OrderLineView::from_line(l, cancelled))
                .collect(),
        }
    }
}

/// The notification for a new order: its name, what it is for and what it comes to.
pub fn order_notice(order: &OrderNotice) -> Notice {
    let total = format!("{} {}", order.total_price, order.currency_code);
    let body = match &order.first_line {
        Some(first) if order.units > 1 => {
            format!("{first} ({} units in all), {total}", order.units)
        }
        Some(first) => format!("{first}, {total}"),
        None => total,
    };
    Notice {
        kind: NoticeKind::NewOrder,
        title: format!("New order {}", order.name),
        body,
    }
}

/// The notification for a variant that fell to its low-stock line: `SKU-1 is down to 2
/// (line: 5)`.
pub fn low_stock_notice(stock: &LowStockNotice) -> Notice {
    let what = match &stock.sku {
        Some(sku) => format!("{sku} ({})", stock.title),
        None => stock.title.clone(),
    };
    Notice {
        kind: NoticeKind::LowStock,
        title: "Low stock".into(),
        body: format!(
            "{what} is down to {} (line: {}).",
            stock.available, stock.threshold
        ),
    }
}

/// The largest low-stock line, the global one's limit too.
pub const MAX_THRESHOLD: u32 = 1_000_000;

/// A SKU's own low-stock line, as the Settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SkuThresholdView {
    pub sku: String,
    pub threshold: u32,
}

/// The SKU to save a line for, trimmed, or what is wrong with the request.
pub fn check_sku_threshold(sku: &str, threshold: Option<u32>) -> Result<String, UiError> {
    let sku = sku.trim();
    if sku.is_empty() {
        return Err(UiError {
            field: Some("sku".into()),
            ..UiError::new(
                ErrorCode::InvalidInput,
                "Enter the SKU exactly as it is in Shopify.",
            )
        });
    }
    if sku.chars().count() > 255 {
        return Err(UiError {
            field: Some("sku".into()),
            ..UiError::new(
                ErrorCode::InvalidInput,
                "A SKU has at most 255 characters in Shopify.",
            )
        });
    }
    if threshold.is_some_and(|t| t > MAX_THRESHOLD) {
        return Err(UiError {
            field: Some("threshold".into()),
            ..UiError::new(
                ErrorCode::InvalidInput,
                "The low-stock line must be at most 1,000,000.",
            )
        });
    }
    Ok(sku.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_store::{Money, ShopifyTime};

    fn line(quantity: i64, current: i64, unfulfilled: i64) -> LineItem {
        LineItem {
            id: 11,
            variant_id: Some(21),
            sku: Some("MUG-S".into()),
            title: "Blue Mug".into(),
            variant_title: Some("Small".into()),
            inventory_item_id: Some(31),
            quantity,
            current_quantity: current,
            unfulfilled_quantity: unfulfilled,
            price: Money::new("12.00").unwrap(),
        }
    }

    fn order(lines: Vec<LineItem>, cancelled: bool) -> Order {
        let t = ShopifyTime::parse("2026-11-24T10:15:00-05:00").unwrap();
        Order {
            id: 1001,
            name: "#1001".into(),
            created_at: t.clone(),
            updated_at: t.clone(),
            cancelled_at: cancelled.then(|| t.clone()),
            closed_at: None,
            financial_status: Some("PAID".into()),
            fulfillment_status: None,
            currency_code: "USD".into(),
            total_price: Money::new("36.00").unwrap(),
            line_items: lines,
        }
    }

    fn effect(v: &OrderLineView) -> (i64, i64, i64) {
        (v.committed, v.shipped, v.back_in_stock)
    }

    #[test]
    fn an_open_order_commits_what_it_has_not_shipped() {
        let v = OrderView::from(order(vec![line(3, 3, 3), line(2, 2, 1)], false));
        assert_eq!(v.status, OrderStatusView::Open);
        assert_eq!(effect(&v.lines[0]), (3, 0, 0));
        assert_eq!(effect(&v.lines[1]), (1, 1, 0), "partly shipped");
        assert_eq!(v.created_at, "2026-11-24T10:15:00-05:00");
        assert_eq!(v.total_price, "36.00");
        assert_eq!(v.lines[0].variant_title.as_deref(), Some("Small"));
    }

    #[test]
    fn a_fulfilled_order_shipped_everything_still_on_it() {
        let v = OrderView::from(order(vec![line(3, 2, 0)], false));
        assert_eq!(v.status, OrderStatusView::Fulfilled);
        // One unit was removed from the order before it shipped: it went back to stock.
        assert_eq!(effect(&v.lines[0]), (0, 2, 1));
    }

    #[test]
    fn a_cancelled_order_put_back_what_had_not_shipped() {
        // As Shopify's webhook says it: the current quantity is what shipped.
        let v = OrderView::from(order(vec![line(3, 1, 0), line(2, 0, 0)], true));
        assert_eq!(v.status, OrderStatusView::Cancelled);
        assert_eq!(effect(&v.lines[0]), (0, 1, 2));
        assert_eq!(effect(&v.lines[1]), (0, 0, 2));
        // A line that still lists unshipped units holds nothing once the order is cancelled.
        let v = OrderView::from(order(vec![line(2, 2, 2)], true));
        assert_eq!(effect(&v.lines[0]), (0, 0, 2));
    }

    #[test]
    fn odd_quantities_never_show_negative_units() {
        let v = OrderView::from(order(vec![line(2, 5, 9)], false));
        let l = &v.lines[0];
        assert!(
            l.committed >= 0 && l.shipped >= 0 && l.back_in_stock >= 0,
            "{l:?}"
        );
        assert_eq!(l.committed + l.shipped + l.back_in_stock, 2);
        let mut only = line(1, 1, 1);
        only.variant_title = Some("Default Title".into());
        let v = OrderView::from(order(vec![only], false));
        assert_eq!(v.lines[0].variant_title, None);
    }

    #[test]
    fn the_order_view_serializes_ids_as_numbers_and_status_as_a_word() {
        let json =
            serde_json::to_value(OrderView::from(order(vec![line(1, 1, 1)], false))).unwrap();
        assert_eq!(json["id"], 1001);
        assert_eq!(json["status"], "open");
        assert_eq!(json["lines"][0]["backInStock"], 0);
        assert_eq!(json["currencyCode"], "USD");
    }

    fn new_order(units: i64, first_line: Option<&str>) -> OrderNotice {
        OrderNotice {
            id: 1001,
            name: "#1001".into(),
            total_price: "36.00".into(),
            currency_code: "USD".into(),
            units,
            first_line: first_line.map(Into::into),
        }
    }

    #[test]
    fn a_new_order_is_notified_with_its_name_lines_and_total() {
        let n = order_notice(&new_order(3, Some("Blue Mug - Small")));
        assert_eq!(n.kind, NoticeKind::NewOrder);
        assert_eq!(n.title, "New order #1001");
        assert_eq!(n.body, "Blue Mug - Small (3 units in all), 36.00 USD");
        assert_eq!(
            order_notice(&new_order(1, Some("Blue Mug"))).body,
            "Blue Mug, 36.00 USD"
        );
        assert_eq!(order_notice(&new_order(2, None)).body, "36.00 USD");
    }

    #[test]
    fn low_stock_says_the_sku_what_is_left_and_the_line() {
        let n = low_stock_notice(&LowStockNotice {
            variant_id: 21,
            sku: Some("SKU-1".into()),
            title: "Blue Mug - Small".into(),
            available: 2,
            threshold: 5,
        });
        assert_eq!(n.kind, NoticeKind::LowStock);
        assert_eq!(n.body, "SKU-1 (Blue Mug - Small) is down to 2 (line: 5).");
        let n = low_stock_notice(&LowStockNotice {
            variant_id: 21,
            sku: None,
            title: "Blue Mug - Small".into(),
            available: 0,
            threshold: 5,
        });
        assert_eq!(n.body, "Blue Mug - Small is down to 0 (line: 5).");
    }

    #[test]
    fn orders_and_low_stock_can_each_be_switched_off() {
        let settings = crate::settings::Settings {
            notify_new_orders: false,
            ..Default::default()
        };
        assert!(!settings.wants(order_notice(&new_order(1, None)).kind));
        assert!(settings.wants(NoticeKind::LowStock));
        let settings = crate::settings::Settings {
            notify_low_stock: false,
            ..Default::default()
        };
        assert!(settings.wants(NoticeKind::NewOrder));
        assert!(!settings.wants(NoticeKind::LowStock));
    }

    #[test]
    fn a_burst_of_new_orders_becomes_one_summary() {
        use crate::settings::{Coalescer, Offer};
        use std::time::{Duration, Instant};
        let mut c = Coalescer::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(c.offer(NoticeKind::NewOrder, t0), Offer::ShowAndOpenWindow);
        for i in 1..=3 {
            assert_eq!(
                c.offer(NoticeKind::NewOrder, t0 + Duration::from_secs(i)),
                Offer::Held
            );
        }
        // Low stock during the burst is not swallowed by it.
        assert_eq!(c.offer(NoticeKind::LowStock, t0), Offer::ShowAndOpenWindow);
        let held = c.close(NoticeKind::NewOrder);
        assert_eq!(NoticeKind::NewOrder.summary(held).0, "3 more new orders");
        assert_eq!(NoticeKind::NewOrder.summary(1).0, "1 more new order");
        assert_eq!(
            NoticeKind::LowStock.summary(2).1,
            "2 more variants fell to their low-stock line."
        );
    }

    #[test]
    fn a_sku_line_needs_a_sku_and_a_sensible_number() {
        assert_eq!(check_sku_threshold("  MUG-S ", Some(3)).unwrap(), "MUG-S");
        assert_eq!(check_sku_threshold("MUG-S", None).unwrap(), "MUG-S");
        let e = check_sku_threshold("   ", Some(3)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(e.field.as_deref(), Some("sku"));
        let e = check_sku_threshold("MUG-S", Some(MAX_THRESHOLD + 1)).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("threshold"));
        assert!(e.message.contains("1,000,000"), "{}", e.message);
        assert!(check_sku_threshold(&"x".repeat(256), Some(1)).is_err());
    }
}
