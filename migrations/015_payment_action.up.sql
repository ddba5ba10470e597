-- A payment's state at the provider, kept for reads: Stripe's next_action
-- while the customer must authenticate (3-D Secure), and the intent's
-- client_secret (answered to the payment's owner only, src/payments_read.c).
--
-- requires_action is not a new stored status: the payment stays open
-- ('requires_confirmation', so every transition of 007 and 013 settles it
-- as before: a webhook, or a confirm with another card) and is shown as
-- 'requires_action' while next_action is set. Any settlement clears it.
ALTER TABLE payments ADD COLUMN next_action jsonb,
    ADD COLUMN client_secret text;

CREATE FUNCTION payment_action_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status <> 'requires_confirmation' THEN
		NEW.next_action := NULL;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER payments_action_clear BEFORE UPDATE ON payments
    FOR EACH ROW WHEN (NEW.next_action IS NOT NULL)
    EXECUTE FUNCTION payment_action_clear();

-- 007's payment_rows, with requires_action shown.
CREATE OR REPLACE FUNCTION payment_rows(p_ids bigint[])
RETURNS TABLE (payment_id bigint, booking_id bigint, amount_cents bigint,
    currency text, status text, created_at text, updated_at text,
    refund_reason text)
LANGUAGE sql STABLE AS $$
	SELECT p.id, p.booking_id, p.amount_cents, p.currency::text,
	    CASE WHEN p.status = 'requires_confirmation' AND
		p.next_action IS NOT NULL THEN 'requires_action'
		ELSE p.status END,
	    booking_rfc3339(p.created_at), booking_rfc3339(p.updated_at),
	    p.refund_reason
	FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
	JOIN payments p ON p.id = u.id
	ORDER BY u.ord
$$;

/*
 * 013's payment_confirm_finish, keeping the provider's next_action when
 * the answer is requires_action (p_next_action is the member as the
 * provider call renders it: "next_action":{...}) (a confirm that settles or declines
 * clears it through payments_action_clear).
 */
CREATE FUNCTION payment_confirm_finish_action(p_payment bigint, p_key text,
    p_result text, p_ref text, p_next_action text)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v record;
BEGIN
	SELECT * INTO v FROM payment_confirm_finish(p_payment, p_key,
	    p_result, p_ref) f;
	IF v.outcome = 'requires_action' AND p_next_action IS NOT NULL THEN
		UPDATE payments p SET next_action =
		    ('{' || p_next_action || '}')::jsonb -> 'next_action',
		    updated_at = now()
		WHERE p.id = p_payment AND p.status = 'requires_confirmation';
		RETURN QUERY SELECT v.outcome, v.blocked, r.*, v.refund_due
		FROM payment_rows(ARRAY[p_payment]) r;
		RETURN;
	END IF;
	RETURN QUERY SELECT v.outcome, v.blocked, v.payment_id, v.booking_id,
	    v.amount_cents, v.currency, v.status, v.created_at, v.updated_at,
	    v.refund_reason, v.refund_due;
END
$$;

-- 013's payment_intent_attach, keeping the intent's client_secret too
-- (a retried initiate fills it in when the first answer was lost).
CREATE FUNCTION payment_intent_attach(p_payment bigint, p_ref text,
    p_secret text)
RETURNS void
LANGUAGE sql AS $$
	UPDATE payments SET provider_ref = p_ref,
	    client_secret = NULLIF(p_secret, ''), updated_at = now()
	WHERE id = p_payment AND (provider_ref IS NULL OR
	    (provider_ref = p_ref AND client_secret IS NULL))
$$;

-- The outbox rows not delivered (pending, failed, dead), counted for
-- /metrics every few seconds by each deliverer (src/outbox.c): an index
-- that stays as small as they are.
CREATE INDEX payment_outbox_open ON payment_outbox (status, created_at)
    WHERE status <> 'delivered';
