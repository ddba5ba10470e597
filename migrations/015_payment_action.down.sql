-- Back to 014: no kept next_action or client_secret.
DROP INDEX IF EXISTS payment_outbox_open;
DROP FUNCTION IF EXISTS payment_intent_attach(bigint, text, text);
DROP FUNCTION IF EXISTS payment_confirm_finish_action(bigint, text, text,
    text, text);
CREATE OR REPLACE FUNCTION payment_rows(p_ids bigint[])
RETURNS TABLE (payment_id bigint, booking_id bigint, amount_cents bigint,
    currency text, status text, created_at text, updated_at text,
    refund_reason text)
LANGUAGE sql STABLE AS $$
	SELECT p.id, p.booking_id, p.amount_cents, p.currency::text, p.status,
	    booking_rfc3339(p.created_at), booking_rfc3339(p.updated_at),
	    p.refund_reason
	FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
	JOIN payments p ON p.id = u.id
	ORDER BY u.ord
$$;
DROP TRIGGER IF EXISTS payments_action_clear ON payments;
DROP FUNCTION IF EXISTS payment_action_clear();
ALTER TABLE payments DROP COLUMN IF EXISTS client_secret,
    DROP COLUMN IF EXISTS next_action;
