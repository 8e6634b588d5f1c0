//! Bulk-update files as owners have them: each format told from its header, the dialects
//! spreadsheets write, and every problem reported at the row and column a spreadsheet shows,
//! without one bad row hiding the others.

use shelfsync_engine::import::{
    Format, Problem, ProblemKind, QuantityName, WantedChange, check, read,
};

fn kinds(problems: &[Problem]) -> Vec<(u64, Option<&str>, ProblemKind)> {
    problems
        .iter()
        .map(|p| (p.row, p.column.as_deref(), p.kind))
        .collect()
}

#[test]
fn a_multi_location_inventory_export_with_bom_and_crlf_is_read_as_shopify_writes_it() {
    let file = "\u{feff}Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,\
Option3 Name,Option3 Value,SKU,HS Code,COO,Location,Bin name,Incoming (not editable),\
Unavailable (not editable),Committed (not editable),Available (not editable),On hand (current),\
On hand (new)\r\n\
mug,Mug,Size,Small,,,,,MUG-S,,,Warehouse,,0,0,1,9,10,12\r\n\
mug,Mug,Size,Small,,,,,MUG-S,,,Shop on Main,,0,0,0,3,3,\r\n\
mug,Mug,Size,Large,,,,,MUG-L,,,Warehouse,,0,0,0,not stocked,not stocked,not stocked\r\n\
mug,Mug,Size,Large,,,,,MUG-L,,,\"Shop on Main\",,0,0,0,4,4,6\r\n";
    let c = check(file.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::ShopifyInventory));
    assert!(c.has_bom);
    assert_eq!(c.delimiter, ",");
    assert_eq!((c.data_rows, c.distinct_skus), (4, 2));
    assert_eq!(c.locations, ["Warehouse", "Shop on Main"]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn every_bad_row_of_an_inventory_export_is_reported_with_its_row_and_column() {
    let file = "Handle,Title,SKU,Location,Available (not editable),On hand (current),On hand (new)\n\
mug,Mug,MUG-S,Warehouse,9,10,ten\n\
mug,Mug,MUG-S,Warehouse,9,10,11\n\
mug,Mug,MUG-M,Warehouse,9,10,-4\n\
mug,Mug,-,Warehouse,1,1,2\n\
mug,Mug,MUG-L,,1,1,2\n\
mug,Mug,MUG-XL,Warehouse,1,1,5\n";
    let c = check(file.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::ShopifyInventory));
    assert_eq!(c.data_rows, 6);
    assert_eq!(
        kinds(&c.problems),
        [
            (2, Some("On hand (new)"), ProblemKind::NotANumber),
            (3, Some("SKU"), ProblemKind::Duplicate),
            (4, Some("On hand (new)"), ProblemKind::Negative),
            (5, Some("SKU"), ProblemKind::MissingSku),
            (6, Some("Location"), ProblemKind::MissingLocation),
        ]
    );
    assert!(c.problems[0].message.contains("\"ten\""));
    assert!(c.problems[1].message.contains("MUG-S at Warehouse"));
    // The good rows still count: MUG-S, MUG-M, MUG-L, MUG-XL.
    assert_eq!(c.distinct_skus, 4);
}

#[test]
fn a_product_csv_counts_variants_not_image_rows_and_checks_prices() {
    let file = "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,\
Variant Price,Variant Compare At Price,Image Src\n\
mug,Mug,\"<p>Stoneware, glazed.\nDishwasher safe.</p>\",Size,Small,MUG-S,10,12.50,,https://cdn.example/mug.jpg\n\
mug,,,,Large,MUG-L,4,14.00,16.00,\n\
mug,,,,,,,,,https://cdn.example/mug-2.jpg\n\
cup,Cup,,Title,Default Title,CUP,3,twelve,,\n\
cup,,,,Other,CUP,3,-1,,\n";
    let c = check(file.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::ShopifyProduct));
    // The quoted description spans two lines of the file but is one row of the sheet.
    assert_eq!(c.data_rows, 5);
    assert_eq!(c.distinct_skus, 3);
    assert!(c.locations.is_empty());
    assert_eq!(
        kinds(&c.problems),
        [
            (5, Some("Variant Price"), ProblemKind::NotANumber),
            (6, Some("Variant SKU"), ProblemKind::Duplicate),
            (6, Some("Variant Price"), ProblemKind::Negative),
        ]
    );
}

#[test]
fn the_2025_product_csv_header_is_recognised_too() {
    let file = "Title,URL handle,Description,Vendor,SKU,Option1 name,Option1 value,Price,\
Compare-at price,Inventory quantity\nMug,mug,,Acme,MUG-S,Size,Small,12.50,,10\n";
    let c = check(file.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::ShopifyProduct));
    assert_eq!((c.data_rows, c.distinct_skus), (1, 1));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn plain_files_with_semicolons_or_tabs_are_told_apart_by_their_columns() {
    let quantities = "sku;location;quantity\nMUG-S;Warehouse;5\nMUG-S;Shop;x\n";
    let c = check(quantities.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::PlainQuantity));
    assert_eq!(c.delimiter, ";");
    assert_eq!(c.locations, ["Warehouse", "Shop"]);
    assert_eq!(
        kinds(&c.problems),
        [(3, Some("quantity"), ProblemKind::NotANumber)]
    );

    let prices = "SKU\tPrice\nMUG-S\t12.50\nMUG-L\t\nMUG-S\t13\n";
    let c = check(prices.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::PlainPrice));
    assert_eq!(c.delimiter, "\\t");
    assert!(!c.has_bom);
    assert_eq!(
        kinds(&c.problems),
        [(4, Some("SKU"), ProblemKind::Duplicate)]
    );
}

#[test]
fn an_unknown_header_and_an_empty_file_are_unknown_formats_at_row_one() {
    let c = check("name,amount\nMug,3\n".as_bytes()).unwrap();
    assert_eq!(c.format, None);
    assert_eq!(kinds(&c.problems), [(1, None, ProblemKind::UnknownFormat)]);
    assert!(c.problems[0].message.contains("name, amount"));
    let c = check("".as_bytes()).unwrap();
    assert_eq!(kinds(&c.problems), [(1, None, ProblemKind::UnknownFormat)]);
}

#[test]
fn a_row_that_is_not_utf8_is_reported_and_the_rest_still_read() {
    let mut file = b"sku,price\nMUG-S,12\n".to_vec();
    file.extend_from_slice(b"CAF\xC9,3\n");
    file.extend_from_slice(b"MUG-L,-2\n");
    let c = check(file.as_slice()).unwrap();
    assert_eq!(c.data_rows, 3);
    assert_eq!(
        kinds(&c.problems),
        [
            (3, None, ProblemKind::Unreadable),
            (4, Some("price"), ProblemKind::Negative),
        ]
    );
}

#[test]
fn an_inventory_export_without_its_sku_column_says_which_column_is_missing() {
    let file = "Handle,Title,Location,On hand (new)\nmug,Mug,Warehouse,3\n";
    let c = check(file.as_bytes()).unwrap();
    assert_eq!(c.format, Some(Format::ShopifyInventory));
    assert_eq!(
        kinds(&c.problems)[0],
        (1, Some("SKU"), ProblemKind::MissingColumn)
    );
}

fn changes(file: &str) -> Vec<(u64, String, Option<String>, WantedChange)> {
    read(file.as_bytes())
        .unwrap()
        .wanted
        .into_iter()
        .map(|w| (w.row, w.sku, w.location, w.change))
        .collect()
}

fn set(name: QuantityName, value: i64, column: &str) -> WantedChange {
    WantedChange::Quantity {
        name,
        value,
        column: column.into(),
    }
}

#[test]
fn each_format_says_which_quantity_or_price_a_row_sets_and_blank_cells_set_nothing() {
    // Current inventory export: `On hand (new)` sets on_hand; blank and `not stocked` do not.
    let file = "Handle,Title,SKU,Location,Available (not editable),On hand (current),On hand (new)\n\
mug,Mug,MUG-S,Warehouse,9,10,12\n\
mug,Mug,MUG-M,Warehouse,9,10,\n\
mug,Mug,MUG-L,Warehouse,not stocked,not stocked,not stocked\n";
    assert_eq!(
        changes(file),
        [(
            2,
            "MUG-S".into(),
            Some("Warehouse".into()),
            set(QuantityName::OnHand, 12, "On hand (new)")
        )]
    );
    // Pre-2024 export: editable `Available` (and `On hand`).
    let file = "Handle,Title,SKU,Location,Incoming,Unavailable,Committed,Available,On hand\n\
mug,Mug,MUG-S,Warehouse,0,0,1,8,\n\
mug,Mug,MUG-M,Warehouse,0,0,1,,20\n";
    assert_eq!(
        changes(file),
        [
            (
                2,
                "MUG-S".into(),
                Some("Warehouse".into()),
                set(QuantityName::Available, 8, "Available")
            ),
            (
                3,
                "MUG-M".into(),
                Some("Warehouse".into()),
                set(QuantityName::OnHand, 20, "On hand")
            ),
        ]
    );
    // Product CSV: prices normalised, a blank compare-at price left alone, 0 clears it,
    // image-only rows skipped.
    let file = "Handle,Title,Variant SKU,Variant Price,Variant Compare At Price,Variant Inventory Qty,Image Src\n\
mug,Mug,MUG-S,$12.5,,4,a.png\n\
mug,,,,,,b.png\n\
mug,,MUG-L,14,0,,\n";
    assert_eq!(
        changes(file),
        [
            (
                2,
                "MUG-S".into(),
                None,
                set(QuantityName::Available, 4, "Variant Inventory Qty")
            ),
            (
                2,
                "MUG-S".into(),
                None,
                WantedChange::Price {
                    price: Some("12.50".into()),
                    compare_at: None,
                    column: "Variant Price".into()
                }
            ),
            (
                4,
                "MUG-L".into(),
                None,
                WantedChange::Price {
                    price: Some("14.00".into()),
                    compare_at: Some(None),
                    column: "Variant Price".into()
                }
            ),
        ]
    );
    // Plain files; a bad cell sets nothing and is a problem instead.
    let file = "sku;price\r\nA-1;3.99\r\nA-2;3,99\r\n";
    let read = read(file.as_bytes()).unwrap();
    assert_eq!(read.wanted.len(), 1);
    assert_eq!(
        kinds(&read.check.problems),
        [(3, Some("price"), ProblemKind::NotANumber)]
    );
}

#[test]
fn a_twelve_thousand_row_file_with_blank_lines_and_quoted_cells_keeps_spreadsheet_row_numbers() {
    // As a spreadsheet saves it: BOM, semicolons, CRLF, quoted cells holding the delimiter
    // and a line break, blank lines here and there.
    let mut file = String::from(
        "\u{feff}Handle;Title;SKU;Location;Available (not editable);On hand (current);On hand (new)\r\n",
    );
    let mut row = 1u64;
    let mut bad_rows = Vec::new();
    for i in 0..12_000u64 {
        if i % 1000 == 999 {
            file.push_str(if i % 2000 == 999 {
                "\r\n"
            } else {
                ";;;;;;\r\n"
            });
            row += 1;
        }
        row += 1;
        let title = if i % 7 == 0 {
            "\"Mug; large\r\nwith lid\"".to_owned()
        } else {
            format!("Mug {i}")
        };
        let new = match i {
            500 | 7_777 => {
                bad_rows.push(row);
                "lots".to_owned()
            }
            _ => (i % 50).to_string(),
        };
        file.push_str(&format!(
            "mug-{i};{title};SKU-{i};\"Shop; Main\";1;1;{new}\r\n"
        ));
    }
    let read = read(file.as_bytes()).unwrap();
    let c = &read.check;
    assert_eq!(c.delimiter, ";");
    assert!(c.has_bom);
    assert_eq!(c.data_rows, 12_000);
    assert_eq!(c.distinct_skus, 12_000);
    assert_eq!(c.locations, ["Shop; Main"]);
    assert_eq!(
        kinds(&c.problems),
        bad_rows
            .iter()
            .map(|r| (*r, Some("On hand (new)"), ProblemKind::NotANumber))
            .collect::<Vec<_>>()
    );
    assert_eq!(read.wanted.len(), 11_998);
    let last = read.wanted.last().unwrap();
    assert_eq!((last.row, last.sku.as_str()), (row, "SKU-11999"));
}

/// Regression (found by the CSV fuzz target): a file whose lines end with a lone `\r`, as old
/// Mac spreadsheets save them, numbered its rows past its last line.
#[test]
fn lines_ending_in_a_lone_carriage_return_keep_their_row_numbers() {
    let file = "sku;location;quantity\rA-1;Warehouse;3\r\rA-2;Shop;x\r;;\r\u{2}";
    let read = read(file.as_bytes()).unwrap();
    assert_eq!(read.wanted.len(), 1);
    // A-2 is on row 4, after the blank row 3; the lone "\u{2}" is row 6.
    assert_eq!(
        kinds(&read.check.problems),
        [
            (4, Some("quantity"), ProblemKind::NotANumber),
            (6, Some("location"), ProblemKind::MissingLocation),
        ]
    );
}
