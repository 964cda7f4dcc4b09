-- The read APIs of migration 0020 read statements for fundamentals and ratios.
GRANT SELECT ON fundamentals TO sluice_http_api;
