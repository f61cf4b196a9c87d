-- Token scopes: a batch remembers which API token submitted it, so a submit-scoped token reads
-- and steers only its own batches. The id is the token's configured name or a SHA-256 prefix of
-- it (config/ApiToken), never the token itself. NULL: submitted without tokens, or before V12.

ALTER TABLE procq.batch ADD COLUMN owner text CHECK (owner IS NULL OR length(owner) BETWEEN 1 AND 100);
COMMENT ON COLUMN procq.batch.owner IS 'Id of the API token that submitted the batch: its name from PROCQ_API_TOKENS (submit:NAME=TOKEN) or sha256: and 12 hex digits of its SHA-256; never the token. NULL when submitted without tokens (or before owners were recorded). A submit-scoped token sees only the batches it owns.';

-- An Idempotency-Key belongs to the client that sent it: two tokens using the same key get a
-- batch each, and neither can learn of the other's batch by replaying the key.
ALTER TABLE procq.batch DROP CONSTRAINT batch_idempotency_key_key;
CREATE UNIQUE INDEX batch_owner_idempotency_key ON procq.batch ((coalesce(owner, '')), idempotency_key);
COMMENT ON INDEX procq.batch_owner_idempotency_key IS 'One batch per Idempotency-Key and owner (BatchDao.insertUnlessKeyUsed).';
COMMENT ON COLUMN procq.batch.idempotency_key IS 'Idempotency-Key header of the POST that created it; a retried POST with the same key and the same token (owner) returns this batch.';

-- A submit token's list of its batches, newest first.
CREATE INDEX batch_owner_id ON procq.batch (owner, id DESC) WHERE owner IS NOT NULL;
COMMENT ON INDEX procq.batch_owner_id IS 'GET /api/v1/batches for a submit-scoped token (BatchDao.listBeforeOwnedBy).';
