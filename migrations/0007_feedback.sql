-- Customer feedback (issue 4): one ticket per item at its source, triaged by
-- llm-analyzer, and the log of every decision about it (the model's and people's).

-- One row per (source, external id): a later revision of the same item updates the
-- row; the same revision again changes nothing (processed_messages holds the claim).
CREATE TABLE tickets (
    id           uuid        PRIMARY KEY,
    source       text        NOT NULL
                             CHECK (source IN ('zendesk', 'intercom', 'standard', 'app_store', 'google_play', 'email')),
    external_id  text        NOT NULL CHECK (external_id <> ''),
    -- The source's version of the item that was triaged last.
    revision     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'new'
                             CHECK (status IN ('new', 'open', 'in_progress', 'resolved', 'closed')),
    priority     text        NOT NULL CHECK (priority IN ('P0', 'P1', 'P2', 'P3')),
    -- Who set the priority by hand (a user id); NULL while triage decides it. A
    -- re-triage never overrides a person's priority.
    priority_set_by text,
    category     text        NOT NULL
                             CHECK (category IN ('bug', 'feature_request', 'billing', 'performance', 'ux', 'praise',
                                                 'other')),
    sentiment    real        NOT NULL CHECK (sentiment >= -1 AND sentiment <= 1),
    summary      text        NOT NULL,
    language     text        NOT NULL,
    author       text,
    rating       smallint    CHECK (rating BETWEEN 1 AND 5),
    subject      text,
    text         text        NOT NULL,
    link         text,
    -- When the source received the item (of the revision triaged last).
    received_at  timestamptz NOT NULL,
    triaged_at   timestamptz NOT NULL,
    -- `provider:model` of the last triage (`extractive:v1` for the rule-based triage).
    model        text        NOT NULL,
    -- When the ticket reached the per-day counters in DynamoDB (once per ticket, ever).
    counted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, external_id)
);
-- GET /v1/tickets: newest first, cursor (received_at, id).
CREATE INDEX tickets_newest ON tickets (received_at DESC, id DESC);
CREATE INDEX tickets_open_by_priority ON tickets (priority, received_at DESC) WHERE status NOT IN ('resolved', 'closed');

-- What was decided about a ticket, by whom (a model key or a user id), and how long it took.
CREATE TABLE processing_logs (
    id          bigserial   PRIMARY KEY,
    ticket_id   uuid        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    action      text        NOT NULL CHECK (action IN ('triaged', 'retriaged', 'status_changed', 'priority_changed')),
    actor       text        NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    duration_ms bigint      CHECK (duration_ms >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processing_logs_by_ticket ON processing_logs (ticket_id, id);
