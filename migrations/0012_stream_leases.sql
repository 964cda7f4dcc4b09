-- One row per open event stream: a user holds at most SSE_STREAMS_PER_USER at once, so
-- one token cannot take every Lambda instance and database connection of the stream
-- function. A stream deletes its lease when it ends; a lease whose process died runs
-- out at the stream's own deadline.
CREATE TABLE stream_leases (
    id         uuid PRIMARY KEY,
    user_id    text NOT NULL,
    opened_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX stream_leases_by_user ON stream_leases (user_id, expires_at);
