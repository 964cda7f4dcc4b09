-- Spreadsheet values are stored with every digit they were written with (docs/value-fidelity.md).
--
-- kpis.valor holds ratios, multiples, percentages and amounts: numeric(20,2) rounded
-- `2,3456` to 2.35. The amounts of companies and dealflow can be written in thousands or
-- millions (`1,375` M) or converted from another currency, so they keep their digits too.
-- dealflow.algorithm_score stays numeric(5,4): a score has four decimals by definition, and
-- the loader now rejects a score with more instead of rounding it.
--
-- Dropping a numeric's precision and scale rewrites neither the table nor its indexes, and
-- the values already stored keep their scale (1300.00 stays 1300.00; it equals 1300).

ALTER TABLE kpis ALTER COLUMN valor TYPE numeric;
ALTER TABLE companies ALTER COLUMN funding_total TYPE numeric;
ALTER TABLE dealflow ALTER COLUMN deal_size_usd TYPE numeric,
                     ALTER COLUMN valuation TYPE numeric;
