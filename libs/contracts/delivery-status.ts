/**
 * The states of a delivery, as the deliveries table, the api, the workflow's state query and its DeliveryStatus search
 * attribute all name them. The table's CHECK constraint lists the same values (a test compares them). No imports:
 * workflow code uses these types.
 */
export const DELIVERY_STATUSES = [
  'pending',
  'attempting',
  'throttled',
  'retry_scheduled',
  'delivered',
  'dead_lettered',
  'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The states a delivery ends in: its workflow has returned, nothing more will be attempted in this run. */
export const ENDED_DELIVERY_STATUSES = [
  'delivered',
  'dead_lettered',
  'cancelled',
] as const satisfies readonly DeliveryStatus[];
export type EndedDeliveryStatus = (typeof ENDED_DELIVERY_STATUSES)[number];

/** The states of a delivery whose workflow may still attempt it. */
export const ACTIVE_DELIVERY_STATUSES = DELIVERY_STATUSES.filter(
  (status): status is Exclude<DeliveryStatus, EndedDeliveryStatus> =>
    !(ENDED_DELIVERY_STATUSES as readonly string[]).includes(status),
);
