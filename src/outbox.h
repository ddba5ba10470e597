/*
 * outbox: delivering the provider calls written to payment_outbox
 * (migrations/013) after the transactions that decided them.
 */
#ifndef __H_OUTBOX_H
#define __H_OUTBOX_H

/* Starts this worker's deliverer (kore_worker_configure). */
void	outbox_worker_init(void);

#endif
