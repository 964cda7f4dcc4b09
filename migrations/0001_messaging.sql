-- What every consumer shares: the idempotency record and the outbox of the event publisher.

-- One row per effect already applied: (consumer, key) is claimed in the same
-- transaction as the effect, so a redelivered message finds it and changes nothing.
CREATE TABLE processed_messages (
    consumer     text        NOT NULL,
    key          text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, key)
);

-- Messages to publish, written in the transaction whose effect they announce and
-- sent after it commits: an announcement is never lost and never precedes its effect.
CREATE TABLE outbox (
    seq            bigserial   PRIMARY KEY,
    message_id     uuid        NOT NULL UNIQUE,
    -- Each function flushes only what it staged: it holds the permissions for those targets only.
    producer       text        NOT NULL,
    destination    text        NOT NULL CHECK (destination IN ('topic', 'fifo_queue')),
    target         text        NOT NULL,
    group_id       text,
    dedup_id       text,
    kind           text        NOT NULL,
    body           text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (producer, seq) WHERE published_at IS NULL;
