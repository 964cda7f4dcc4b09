-- Ask Sluice's chat: a turn a language model answers is charged through the one ledger
-- (usage_transactions, kind 'chat_turn'; the conversations themselves live in DynamoDB).
-- http-api already inserts usage_transactions and updates user_accounts (0017).
ALTER TABLE usage_transactions DROP CONSTRAINT usage_transactions_kind_check;
ALTER TABLE usage_transactions ADD CONSTRAINT usage_transactions_kind_check
    CHECK (kind IN ('filing_access', 'analysis', 'chat_turn', 'monthly_credits', 'top_up', 'adjustment'));
