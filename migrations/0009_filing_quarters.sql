-- A 10-Q can be asked for by its fiscal quarter (1 to 3; the fourth is the 10-K's):
-- the fetcher records the quarter a quarterly report covers, by the company's fiscal
-- year end, as it records the fiscal year.
ALTER TABLE filings ADD COLUMN fiscal_quarter smallint CHECK (fiscal_quarter BETWEEN 1 AND 4);
CREATE INDEX filings_by_quarter ON filings (cik, form, fiscal_year, fiscal_quarter) WHERE fiscal_quarter IS NOT NULL;
