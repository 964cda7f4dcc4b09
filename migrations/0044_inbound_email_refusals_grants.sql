-- ingest-validator records each refused inbound e-mail (migration 0014) and counts each
-- sender's messages per hour in request_windows (sluice_core::request_windows).
GRANT SELECT, INSERT ON inbound_email_refusals TO sluice_ingest_validator;
GRANT SELECT, INSERT, UPDATE ON request_windows TO sluice_ingest_validator;
