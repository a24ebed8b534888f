// A payment source: one provider's wire format turned into the fleet's IncomingPayment. Each adapter keeps its wire
// format (field names, amount notation, time format, answers) to itself; the routes and the store see only this.
import type { IncomingPayment } from "../../fleet/store";

export interface PaymentSource<Body> {
  /** The provider name stored with every payment: (provider, transaction id) is unique. */
  readonly provider: string;
  /** JSON schema of the body, checked by fastify before `toPayment` sees it. */
  readonly bodySchema: object;
  /** The payment a (schema-checked) body reports; a RangeError names a field it cannot take. */
  toPayment(body: Body, via: IncomingPayment["via"]): IncomingPayment;
}
