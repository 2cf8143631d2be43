-- andal-ledger schema version 1: offline decisions shipped from the nodes, the ship cursor,
-- the central reconciliation log, node incidents and their per-second series.
-- Personal data never appears in clear: `sealed` holds the re-check fields under AEAD with a
-- key the database never sees; in clear only the masked NIK and non-personal facts.

CREATE TABLE ledger_nodes (
    node_id        text PRIMARY KEY,
    upstream_host  text NOT NULL,
    first_shipped  timestamptz NOT NULL DEFAULT now(),
    last_shipped   timestamptz NOT NULL DEFAULT now()
);

-- How far each node's journal file has been shipped (resumption point; every insert is also
-- idempotent on its own, so a cursor that lags behind the rows is harmless).
CREATE TABLE ledger_ship_cursor (
    node_id          text NOT NULL,
    file_id          bytea NOT NULL,
    shipped_through  bigint NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, file_id)
);

CREATE TABLE ledger_decisions (
    node_id          text NOT NULL,
    file_id          bytea NOT NULL,
    seq              bigint NOT NULL,
    upstream_host    text NOT NULL,
    decided_at       timestamptz NOT NULL,
    nik_masked       text NOT NULL,
    token_id         text NOT NULL,
    key_id           text NOT NULL,
    verdict          text NOT NULL,
    online_failure   text NOT NULL,
    node_incident    bigint,
    seal_key_id      text NOT NULL,
    sealed           bytea NOT NULL,
    shipped_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'confirmed', 'contradicted')),
    contradiction    text,
    resolved_by      text,
    resolved_at      timestamptz,
    recheck_attempts integer NOT NULL DEFAULT 0,
    last_pending_cause text,
    PRIMARY KEY (node_id, file_id, seq)
);
CREATE INDEX ledger_decisions_pending ON ledger_decisions (decided_at) WHERE state = 'pending';

-- Every central re-check, final or not: the audit trail of "re-checked once, charged once".
CREATE TABLE ledger_rechecks (
    id               bigserial PRIMARY KEY,
    node_id          text NOT NULL,
    file_id          bytea NOT NULL,
    seq              bigint NOT NULL,
    reconciler       text NOT NULL,
    idempotency_key  text NOT NULL,
    outcome          text NOT NULL,
    detail           text,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (node_id, file_id, seq) REFERENCES ledger_decisions (node_id, file_id, seq)
);
CREATE INDEX ledger_rechecks_decision ON ledger_rechecks (node_id, file_id, seq);

-- Closed incidents of each node's outage record (recording_since tells process runs apart).
CREATE TABLE ledger_incidents (
    node_id              text NOT NULL,
    recording_since      timestamptz NOT NULL,
    incident_id          bigint NOT NULL,
    upstream_host        text NOT NULL,
    opened_by            text NOT NULL,
    started_at           timestamptz NOT NULL,
    ended_at             timestamptz NOT NULL,
    duration_ms          bigint NOT NULL,
    causes               jsonb NOT NULL,
    online               bigint NOT NULL,
    offline              bigint NOT NULL,
    refused              bigint NOT NULL,
    rejected             bigint NOT NULL,
    rechecks             bigint NOT NULL,
    breaker_transitions  bigint NOT NULL,
    breaker_rejections   bigint NOT NULL,
    PRIMARY KEY (node_id, recording_since, incident_id)
);

-- Complete seconds of each node's outage-record series (for the fleet timeline).
CREATE TABLE ledger_series (
    node_id          text NOT NULL,
    upstream_host    text NOT NULL,
    t                bigint NOT NULL,
    breaker          text NOT NULL,
    online           integer NOT NULL,
    offline          integer NOT NULL,
    refused          integer NOT NULL,
    rejected         integer NOT NULL,
    rechecks         integer NOT NULL,
    PRIMARY KEY (node_id, t)
);
