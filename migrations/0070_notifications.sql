-- Notifications (issue 15): e-mail through SES and outbound webhooks a user registers,
-- both sent by the notifier function (the events topic's filtered subscription), to
-- whoever may see the event (sluice_messages::audience, the live stream's rule).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sluice_notifier') THEN
        CREATE ROLE sluice_notifier NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- Which kinds of e-mail a user does not want (none: every kind). Written by
-- PUT /v1/me/notifications and by the unsubscribe link.
CREATE TABLE notification_preferences (
    user_id    text        PRIMARY KEY REFERENCES user_accounts (user_id) ON DELETE CASCADE,
    muted      text[]      NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One e-mail per event (or, for a low balance, per refill), kind and recipient: the
-- notifier stages it and the claim of the event together, then sends what is pending.
CREATE TABLE email_notifications (
    id             bigserial   PRIMARY KEY,
    -- The event's message id; `low_balance:<last credit's ledger id>` for a low balance.
    dedup_key      text        NOT NULL,
    user_id        text        NOT NULL REFERENCES user_accounts (user_id) ON DELETE CASCADE,
    kind           text        NOT NULL,
    address        text        NOT NULL,
    message_id     uuid        NOT NULL,
    subject        text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    ses_message_id text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    UNIQUE (dedup_key, user_id, kind)
);
CREATE INDEX email_notifications_pending ON email_notifications (message_id) WHERE status = 'pending';

-- Outbound webhooks (Standard Webhooks). The secret signs every delivery, so it is kept
-- as it is (shown to its owner once, at creation; never listed).
CREATE TABLE webhook_endpoints (
    id                   uuid        PRIMARY KEY,
    user_id              text        NOT NULL REFERENCES user_accounts (user_id) ON DELETE CASCADE,
    url                  text        NOT NULL,
    description          text,
    -- Event types delivered (empty: every type the endpoint's owner may see).
    event_types          text[]      NOT NULL DEFAULT '{}',
    secret               text        NOT NULL,
    -- Failed attempts in a row; reset by a success. At the limit the endpoint is disabled.
    consecutive_failures integer     NOT NULL DEFAULT 0,
    disabled_at          timestamptz,
    disabled_reason      text,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_user ON webhook_endpoints (user_id, created_at);

-- One delivery per endpoint and event; retried with backoff until it succeeds, runs out
-- of attempts, or its endpoint is disabled.
CREATE TABLE webhook_deliveries (
    id               bigserial   PRIMARY KEY,
    endpoint_id      uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id       uuid        NOT NULL,
    event_type       text        NOT NULL,
    -- The exact body sent (the signature covers these bytes).
    body             text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id DESC);

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id           bigserial   PRIMARY KEY,
    delivery_id  bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  integer     NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);

-- notifier: claims each event once; reads who may see it and their addresses, balances
-- and preferences; stages and marks e-mails; delivers webhooks and logs each attempt.
GRANT SELECT, INSERT ON processed_messages TO sluice_notifier;
GRANT SELECT ON user_accounts, usage_transactions, notification_preferences TO sluice_notifier;
GRANT SELECT, INSERT, UPDATE ON email_notifications TO sluice_notifier;
GRANT USAGE ON SEQUENCE email_notifications_id_seq TO sluice_notifier;
GRANT SELECT, UPDATE ON webhook_endpoints TO sluice_notifier;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO sluice_notifier;
GRANT USAGE ON SEQUENCE webhook_deliveries_id_seq TO sluice_notifier;
GRANT INSERT ON webhook_attempts TO sluice_notifier;
GRANT USAGE ON SEQUENCE webhook_attempts_id_seq TO sluice_notifier;

-- http-api: preferences and the unsubscribe link; endpoints created, listed, deleted;
-- the delivery log read.
GRANT SELECT, INSERT, UPDATE ON notification_preferences TO sluice_http_api;
GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO sluice_http_api;
GRANT SELECT ON webhook_deliveries, webhook_attempts TO sluice_http_api;
