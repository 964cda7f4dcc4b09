-- Every authenticated request counts against its user's hourly and daily allowance
-- (fixed UTC windows: the clock hour and the calendar day). One row per user: the
-- upsert that counts a request is also the lock that keeps concurrent counts exact.
CREATE TABLE request_windows (
    user_id    text PRIMARY KEY,
    hour_start timestamptz NOT NULL,
    hour_count integer NOT NULL CHECK (hour_count >= 0),
    day_start  timestamptz NOT NULL,
    day_count  integer NOT NULL CHECK (day_count >= 0)
);

-- Only accepted analysis requests were counted before; every request is now.
DROP TABLE analysis_requests;
