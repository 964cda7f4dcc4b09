-- The notification log of sse-notifier (issue 5): every event published on the events
-- topic, stored once, and the single-use tickets that open an SSE stream.

-- One row per event. `id` is the SSE event id (Last-Event-ID): writers take the
-- `events_append` advisory lock before inserting, so ids commit in increasing order
-- and "everything after id N" never skips a row that commits later with a smaller id.
CREATE TABLE events (
    id          bigserial   PRIMARY KEY,
    -- The envelope's message id: a redelivered message is the same event.
    message_id  uuid        NOT NULL UNIQUE,
    -- The user the event belongs to; NULL for team-wide events (team members see them).
    user_id     text,
    type        text        NOT NULL,
    -- The envelope's `data`, as published.
    payload     jsonb       NOT NULL,
    correlation_id text     NOT NULL,
    producer    text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- A user's replay: their own events after an id ...
CREATE INDEX events_user_id ON events (user_id, id) WHERE user_id IS NOT NULL;
-- ... and the team-wide ones.
CREATE INDEX events_team_id ON events (id) WHERE user_id IS NULL;

-- Short-lived, single-use tickets for `GET /v1/events/stream?ticket=...` (browsers'
-- EventSource cannot send an Authorization header). Only the SHA-256 of a ticket is kept.
CREATE TABLE stream_tickets (
    ticket_hash bytea       PRIMARY KEY CHECK (length(ticket_hash) = 32),
    user_id     text        NOT NULL,
    team_member boolean     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX stream_tickets_expires_at ON stream_tickets (expires_at);
