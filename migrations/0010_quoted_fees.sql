-- A task is charged the fees quoted when it was accepted (not its user's tier at
-- completion time), and the analysis fee goes to the task whose worker made the pool
-- entry, even when that worker died between recording the entry and charging for it.
ALTER TABLE tasks
    ADD COLUMN access_fee_micros   bigint CHECK (access_fee_micros >= 0),
    ADD COLUMN analysis_fee_micros bigint CHECK (analysis_fee_micros >= 0);
ALTER TABLE analyses ADD COLUMN made_for_task uuid;
