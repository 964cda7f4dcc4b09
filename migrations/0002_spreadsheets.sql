-- Seed 000: companies, kpis and dealflow spreadsheets, and the version log of every upload.
-- Column names are the seed's. Every table also keeps:
--   extra              every spreadsheet column the schema does not name (nothing is lost)
--   version/updated_at bumped only when a row's values change
--   source_modified_at S3 LastModified of the upload that last wrote the row: an older
--                      file never overwrites a row written by a newer one
--   data_version_id    which upload last wrote the row (no foreign key: the loader is its
--                      only writer, and a per-row check cost a quarter of a load; BENCHMARKS.md)

CREATE TABLE data_versions (
    version_id         bigserial   PRIMARY KEY,
    -- NULL when the upload names no known dataset (it is recorded as failed).
    table_name         text        CHECK (table_name IN ('companies', 'kpis', 'dealflow')),
    file_name          text        NOT NULL,
    s3_path            text        NOT NULL,
    s3_version         text,
    etag               text,
    size_bytes         bigint,
    checksum           char(64),
    source_modified_at timestamptz,
    imported_by        text,
    status             text        NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'success', 'partial', 'failed', 'duplicate')),
    failure_reason     text,
    duplicate_of       bigint      REFERENCES data_versions (version_id),
    rows_imported      integer,
    rows_inserted      integer,
    rows_updated       integer,
    rows_unchanged     integer,
    rows_rejected      integer,
    rows_stale         integer,
    rows_superseded    integer,
    rejects_key        text,
    change_report_key  text,
    correlation_id     text,
    import_timestamp   timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz
);
CREATE INDEX data_versions_by_checksum ON data_versions (table_name, checksum);
CREATE INDEX data_versions_by_time ON data_versions (table_name, import_timestamp DESC);

CREATE TABLE companies (
    company_id         bigserial   PRIMARY KEY,
    company_key        text        NOT NULL UNIQUE,
    company_name       text        NOT NULL,
    website_url        text,
    city               text,
    founding_date      date,
    headcount          integer,
    funding_total      numeric(15, 2),
    description        text,
    founders           text,
    investors          text,
    last_funding_date  date,
    last_funding_type  text,
    linkedin_followers integer,
    web_traffic        integer,
    data_source        text,
    extra              jsonb       NOT NULL DEFAULT '{}',
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    source_modified_at timestamptz NOT NULL,
    data_version_id    bigint
);
CREATE INDEX idx_companies_name ON companies (company_name);
CREATE INDEX idx_companies_updated ON companies (updated_at);

CREATE TABLE kpis (
    kpi_id             bigserial   PRIMARY KEY,
    fondo              text,
    empresa            text        NOT NULL,
    fecha              date        NOT NULL,
    cuarto             text,
    tipo               text,
    indicador          text        NOT NULL,
    unidad             text,
    valor              numeric(20, 2),
    data_source        text,
    extra              jsonb       NOT NULL DEFAULT '{}',
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    source_modified_at timestamptz NOT NULL,
    data_version_id    bigint,
    -- tipo may be blank: two blank tipos are the same key.
    CONSTRAINT kpis_natural_key UNIQUE NULLS NOT DISTINCT (empresa, fecha, indicador, tipo)
);
CREATE INDEX idx_kpis_empresa ON kpis (empresa);
CREATE INDEX idx_kpis_fecha ON kpis (fecha);
CREATE INDEX idx_kpis_indicador ON kpis (indicador);

CREATE TABLE dealflow (
    deal_id               bigserial   PRIMARY KEY,
    company               text        NOT NULL,
    status                text,
    stage                 text,
    funding_round         text,
    deal_size_usd         numeric(15, 2),
    valuation             numeric(15, 2),
    industry              text,
    headquarters          text,
    year_founded          integer,
    contact_person        text,
    date_of_first_contact date,
    date_of_last_contact  date,
    reason_for_rejection  text,
    algorithm_score       numeric(5, 4),
    data_source           text,
    extra                 jsonb       NOT NULL DEFAULT '{}',
    version               integer     NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    source_modified_at    timestamptz NOT NULL,
    data_version_id       bigint,
    CONSTRAINT dealflow_natural_key UNIQUE NULLS NOT DISTINCT (company, funding_round, date_of_first_contact)
);
CREATE INDEX idx_dealflow_company ON dealflow (company);
CREATE INDEX idx_dealflow_status ON dealflow (status);
CREATE INDEX idx_dealflow_stage ON dealflow (stage);
