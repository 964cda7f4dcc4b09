-- Inbound e-mail that is not feedback: SES judged it spam or a virus, SPF or DKIM failed,
-- SES did not scan it, or its sender was over the hourly limit. One row per stored
-- message (the S3 notification's identity), with why; nothing of it is queued.
CREATE TABLE inbound_email_refusals (
    object     text PRIMARY KEY,
    s3_key     text NOT NULL,
    sender     text,
    kind       text NOT NULL CHECK (kind IN ('unscanned', 'spam', 'virus', 'spf', 'dkim', 'sender-limit')),
    reason     text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX inbound_email_refusals_by_kind ON inbound_email_refusals (kind, refused_at);
