-- account-worker's role (the monthly credits schedule) and the grants the credits of
-- migration 0040 need: the ledger's rows, the balance, and the holds of running tasks
-- (taking credits back never spends them). http-api records checkout sessions.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sluice_account_worker') THEN
        CREATE ROLE sluice_account_worker NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

GRANT SELECT, UPDATE ON user_accounts TO sluice_account_worker;
GRANT SELECT ON tasks TO sluice_account_worker;
GRANT SELECT, INSERT ON usage_transactions TO sluice_account_worker;
GRANT USAGE ON SEQUENCE usage_transactions_id_seq TO sluice_account_worker;

GRANT SELECT, INSERT, UPDATE ON checkout_sessions TO sluice_http_api;
