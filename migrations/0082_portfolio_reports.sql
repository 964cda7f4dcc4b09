-- Portfolio reports (issue 12): each generated report is stored as JSON in S3
-- (`portfolio-reports/<id>.json` of the uploads bucket); this row says who asked for
-- it, about what, and where it is. POST /v1/reports makes one on demand.
CREATE TABLE portfolio_reports (
    report_id    uuid        PRIMARY KEY,
    requested_by text        NOT NULL,
    company      text,
    companies    integer     NOT NULL CHECK (companies >= 0),
    s3_key       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portfolio_reports_newest ON portfolio_reports (created_at DESC);

GRANT SELECT, INSERT ON portfolio_reports TO sluice_http_api;
