-- Schema 6: a bulk update's counts beside its plan, so that listing the journal does not read
-- every plan (a 50,000-row plan is megabytes of JSON).
--
-- Rows journaled under schema 5 take their counts from the plan the engine wrote then
-- (`summary.quantity_changes` and `summary.price_changes`), once, here.

ALTER TABLE bulk_updates ADD COLUMN quantity_changes INTEGER NOT NULL DEFAULT 0
    CHECK (quantity_changes >= 0);
ALTER TABLE bulk_updates ADD COLUMN price_changes INTEGER NOT NULL DEFAULT 0
    CHECK (price_changes >= 0);

UPDATE bulk_updates SET
    quantity_changes = max(0, coalesce(json_extract(plan, '$.summary.quantity_changes'), 0)),
    price_changes = max(0, coalesce(json_extract(plan, '$.summary.price_changes'), 0))
WHERE json_valid(plan);
