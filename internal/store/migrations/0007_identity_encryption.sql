-- Identity is encrypted in the application (AES-256-GCM) under a per-case data
-- key, itself wrapped by the operator's master key. Destroying the wrapped key
-- destroys the identity (retention, erasure); the anonymised case stays.
CREATE TABLE case_keys (
    case_id       uuid PRIMARY KEY REFERENCES cases(id),
    key_id        text,
    wrapped       bytea,
    created_at    timestamptz NOT NULL,
    destroyed_at  timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX case_keys_key_id_idx ON case_keys (key_id) WHERE wrapped IS NOT NULL;

-- Each column holds a ciphertext bound to its case and column.
DROP TABLE persons;
CREATE TABLE persons (
    case_id          uuid PRIMARY KEY REFERENCES cases(id),
    given_name       bytea NOT NULL,
    family_name      bytea NOT NULL,
    birth_date       bytea NOT NULL,
    age_estimate     bytea NOT NULL,
    languages        bytea NOT NULL,
    phone            bytea NOT NULL,
    document_number  bytea NOT NULL,
    place            bytea NOT NULL,
    narrative        bytea NOT NULL,
    officer_concern  bytea NOT NULL
);

-- Notes hold free text (reasons, the guardian's name): encrypted the same way.
ALTER TABLE case_notes ALTER COLUMN body TYPE bytea USING convert_to(body, 'UTF8');

-- Keyed blind indexes (HMAC) to find the same person screened twice without
-- decrypting anything; key_id names the master key the index key derives from.
CREATE TABLE person_index (
    case_id  uuid NOT NULL REFERENCES cases(id),
    kind     text NOT NULL,
    key_id   text NOT NULL,
    digest   text NOT NULL,
    PRIMARY KEY (case_id, kind, key_id)
);
CREATE INDEX person_index_digest_idx ON person_index (digest);
