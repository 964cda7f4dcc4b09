-- Bulk import (0100) and the chat (0110) were built side by side and each re-created the
-- ledger's kind check with its own kind only: 0110, applied after 0100, dropped
-- 'bulk_import'. One list with every kind the code writes (sluice_core::ledger::ChargeKind
-- and the credit movements).
ALTER TABLE usage_transactions DROP CONSTRAINT usage_transactions_kind_check;
ALTER TABLE usage_transactions ADD CONSTRAINT usage_transactions_kind_check
    CHECK (kind IN ('filing_access', 'analysis', 'chat_turn', 'bulk_import',
                    'monthly_credits', 'top_up', 'adjustment'));
