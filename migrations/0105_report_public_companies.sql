-- Portfolio reports name, for each company that is public (a ticker is known for it: a
-- ticker or symbol column of the companies sheet, or its name in the tickers or EDGAR
-- directory), its latest stored filings and the completed pooled analyses of them that
-- a team member has access to (issue 12). portfolio-analyst builds the monthly reports,
-- so it reads them too (http-api already may).
GRANT SELECT ON tickers, edgar_companies, filings, analyses, filing_access TO sluice_portfolio_analyst;
GRANT SELECT (user_id, team_member) ON user_accounts TO sluice_portfolio_analyst;
