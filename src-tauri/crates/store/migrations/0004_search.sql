-- Schema 3: an index for the inventory search.
--
-- The search matches a prefix of the SKU, the product title or the variant title. SKUs and
-- product titles were indexed already; with the variant title indexed too (NOCASE, as
-- `LIKE` ignores ASCII case), every part of the search and its count is an index range
-- scan, so counting the matches of a query over 50,000 variants reads only the matches.

CREATE INDEX variants_title ON variants (title COLLATE NOCASE);
