-- Ask Sluice (issue 11): the documents the question answering reads and their chunks,
-- each with a full-text vector (GIN) and an embedding (pgvector HNSW, cosine).
-- Locally pgvector is built by scripts/pgvector.sh; Aurora PostgreSQL 15.4+ ships it.
CREATE EXTENSION IF NOT EXISTS vector;

-- One row per document (a team upload under knowledge/, a filing, an analysis). A new
-- version of the same source key replaces the row and its chunks. A document that cannot
-- be indexed (encrypted PDF, no text, too large) stays here as `refused` with its reason
-- and has no chunks: nothing half-indexed.
CREATE TABLE knowledge_documents (
    document_id     uuid        PRIMARY KEY,
    source          text        NOT NULL CHECK (source IN ('team', 'filing', 'analysis')),
    -- The S3 key of an upload, `filing/<accession>` or `analysis/<id>`.
    source_key      text        NOT NULL UNIQUE,
    title           text        NOT NULL,
    ticker          text,
    form            text,
    period          text,
    s3_key          text,
    sha256          char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    chunker_version integer     NOT NULL,
    -- The embedding model every chunk of the document was embedded with.
    model           text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('indexed', 'refused')),
    refusal_reason  text,
    chunk_count     integer     NOT NULL DEFAULT 0,
    indexed_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'refused') = (refusal_reason IS NOT NULL))
);
CREATE INDEX knowledge_documents_ticker ON knowledge_documents (ticker);

CREATE TABLE knowledge_chunks (
    document_id uuid    NOT NULL REFERENCES knowledge_documents ON DELETE CASCADE,
    ord         integer NOT NULL CHECK (ord >= 0),
    -- Copied from the document so a search filters without a join.
    source      text    NOT NULL,
    ticker      text,
    form        text,
    period      text,
    -- Never compare vectors of two models: every query filters on it.
    model       text    NOT NULL,
    -- "Apple Inc. · 10-K · FY2024 · Item 1A Risk Factors": embedded and searched with the text.
    header      text    NOT NULL,
    body        text    NOT NULL,
    -- The citation: section (filing item, Markdown heading) or page, and the character span
    -- of the body in the document's text.
    section     text,
    page        integer CHECK (page >= 1),
    char_start  integer NOT NULL CHECK (char_start >= 0),
    char_end    integer NOT NULL CHECK (char_end >= char_start),
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', header || ' ' || body)) STORED,
    embedding   vector  NOT NULL,
    PRIMARY KEY (document_id, ord)
);
CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv);
CREATE INDEX knowledge_chunks_ticker ON knowledge_chunks (ticker, form);
-- One HNSW index per model (dimensions differ): the local static model (256-d) and
-- Amazon Titan Text Embeddings v2 (1024-d). A query casts to the same dimension and
-- filters on the same model, so the planner can use the partial index.
CREATE INDEX knowledge_chunks_hnsw_wordllama ON knowledge_chunks
    USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE model = 'wordllama-l2-supercat-256';
CREATE INDEX knowledge_chunks_hnsw_titan ON knowledge_chunks
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE model = 'amazon.titan-embed-text-v2:0';

-- The indexer is a consumer in ingest-validator (uploads under knowledge/): it replaces a
-- document's row and chunks (DELETE cascades to the chunks).
GRANT SELECT, INSERT, DELETE ON knowledge_documents, knowledge_chunks TO sluice_ingest_validator;
-- filing-fetcher indexes every filing it stores (its sections).
GRANT SELECT, INSERT, DELETE ON knowledge_documents, knowledge_chunks TO sluice_filing_fetcher;

-- The HTTP API searches (GET /v1/search).
GRANT SELECT ON knowledge_documents, knowledge_chunks TO sluice_http_api;
