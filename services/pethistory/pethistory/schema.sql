-- The workshop's tables, created idempotently by the service itself (compose and Kubernetes alike).
-- transactions: adoptions as they are paid for; transactions_history: what housekeeping moved there.
CREATE TABLE IF NOT EXISTS transactions (
    id SERIAL PRIMARY KEY,
    pet_id VARCHAR,
    adoption_date DATE,
    transaction_id VARCHAR
);
CREATE TABLE IF NOT EXISTS transactions_history (
    id SERIAL PRIMARY KEY,
    pet_id VARCHAR,
    adoption_date DATE,
    transaction_id VARCHAR
);
