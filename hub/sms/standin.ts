// A local Africa's Talking stand-in (127.0.0.1, a free port) speaking AT's wire format: sends at /version1/messaging,
// delivery reports and inbound SMS posted back as AT posts them. It can be told to fail and to recover, and records
// what it received. Tests, the benchmark and an operator's dry run point SOLKEY_SMS_URL at it.
import { randomBytes } from "crypto";
import http from "http";
import type { AddressInfo } from "net";
import { RECIPIENT_STATUS, type AtSendResponse } from "./africastalking";
import { countSegments } from "./gsm";

/** How the stand-in misbehaves until `recover()` (or for the next `count` requests only). */
export type StandInFault =
  /** Every request answered with this HTTP status (and body). */
  | { readonly kind: "http"; readonly status: number; readonly body?: string }
  /** The connection is dropped without an answer. */
  | { readonly kind: "reset" }
  /** No answer at all: the client's timeout decides. Nothing is sent. */
  | { readonly kind: "hang" }
  /** The message is sent (recorded) but the answer never comes: the client sees a timeout and may send it again. */
  | { readonly kind: "lose-answer" }
  /** HTTP 201 with this per-recipient status code (e.g. 405 InsufficientBalance) for the numbers given, or all. */
  | { readonly kind: "recipient"; readonly statusCode: number; readonly numbers?: readonly string[] };

/** One message the stand-in accepted (status 101), as a phone would receive it. */
export interface StandInSms {
  readonly messageId: string;
  readonly to: string;
  readonly message: string;
  readonly from: string | undefined;
  readonly parts: number;
}

export interface StandInOptions {
  readonly username?: string;
  readonly apiKey?: string;
  /** Where `report()` posts delivery reports (the hub's /sms/<token>/delivery). */
  readonly deliveryUrl?: string;
}

/** AT's delivery report statuses (docs.africastalking.com/sms/notifications). */
export type AtDeliveryStatus =
  "Sent" | "Submitted" | "Buffered" | "Rejected" | "Success" | "Failed" | "AbsentSubscriber" | "Expired";

const SAFARICOM = "63902";
const PHONE = /^\+?\d{9,15}$/;

export class AtStandIn {
  readonly username: string;
  readonly apiKey: string;
  /** Messages accepted, in order. */
  readonly sent: StandInSms[] = [];
  /** Every request to /version1/messaging, answered or not. */
  requests = 0;
  private fault: StandInFault | undefined;
  private faultCount = Infinity;
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    options: StandInOptions,
    private readonly deliveryUrl: string | undefined,
  ) {
    this.username = options.username ?? "sandbox";
    this.apiKey = options.apiKey ?? "standin-key";
  }

  /** Starts listening on 127.0.0.1 at a free port. */
  static async start(options: StandInOptions = {}): Promise<AtStandIn> {
    const server = http.createServer();
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    const standIn = new AtStandIn(server, `http://127.0.0.1:${port}`, options, options.deliveryUrl);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => standIn._handle(req, res));
    return standIn;
  }

  /** Misbehave from now on, or only for the next `count` requests. */
  fail(fault: StandInFault, count = Infinity): void {
    this.fault = fault;
    this.faultCount = count;
  }

  recover(): void {
    this.fault = undefined;
  }

  /** Posts AT's delivery report for `messageId` to the delivery URL; resolves to the HTTP status answered. */
  async report(messageId: string, status: AtDeliveryStatus, failureReason?: string, url = this.deliveryUrl) {
    const sms = this.sent.find((s) => s.messageId === messageId);
    const form: Record<string, string> = {
      id: messageId,
      status,
      phoneNumber: sms?.to ?? "",
      networkCode: SAFARICOM,
      retryCount: "0",
    };
    if (failureReason !== undefined) form.failureReason = failureReason;
    return _postForm(url, form);
  }

  /** Posts an inbound SMS as AT forwards one (from, to, text, date, id, linkId); resolves to the HTTP status. */
  async inbound(url: string, sms: { from: string; to: string; text: string }): Promise<number> {
    const id = randomBytes(16).toString("hex");
    const date = new Date().toISOString().replace("T", " ").slice(0, 19);
    return _postForm(url, { ...sms, date, id, linkId: `link-${id}`, networkCode: SAFARICOM });
  }

  /** Stops listening and drops every open connection (held requests included). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await done;
  }

  private _handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => this._answer(req, Buffer.concat(chunks).toString("utf8"), res));
  }

  private _answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const text = (status: number, message: string): void => {
      res.writeHead(status, { "content-type": "text/plain" }).end(message);
    };
    if (req.method !== "POST" || req.url !== "/version1/messaging") return text(404, "Not found");
    this.requests++;
    const fault = this._takeFault();
    if (fault?.kind === "http") return text(fault.status, fault.body ?? "stand-in fault");
    if (fault?.kind === "reset") return void req.socket.destroy();
    if (fault?.kind === "hang") return;
    if (req.headers.apikey !== this.apiKey) return text(401, "The supplied authentication is invalid");
    if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded"))
      return text(415, "Content-Type must be application/x-www-form-urlencoded");
    if (!String(req.headers.accept).includes("application/json"))
      return text(406, "this stand-in answers JSON only: send Accept: application/json");
    const form = new URLSearchParams(body);
    if (form.get("username") !== this.username) return text(401, "The supplied authentication is invalid");
    for (const field of ["to", "message"])
      if (!form.get(field)) return text(400, `Request is missing required form field '${field}'`);
    const message = form.get("message")!;
    const parts = countSegments(message).segments;
    const recipients = form
      .get("to")!
      .split(",")
      .map((to) => {
        const number = to.trim();
        const statusCode = !PHONE.test(number)
          ? 403
          : fault?.kind === "recipient" && (fault.numbers === undefined || fault.numbers.includes(number))
            ? fault.statusCode
            : 101;
        if (statusCode !== 101)
          return {
            statusCode,
            number,
            status: RECIPIENT_STATUS[statusCode]?.name ?? "Failed",
            cost: "0",
            messageId: "None",
          };
        const messageId = `ATXid_${randomBytes(16).toString("hex")}`;
        this.sent.push({ messageId, to: number, message, from: form.get("from") ?? undefined, parts });
        const cost = `KES ${(0.8 * parts).toFixed(4)}`;
        return { statusCode, number, status: "Success", cost, messageId, messageParts: parts };
      });
    if (fault?.kind === "lose-answer") return;
    const accepted = recipients.filter((r) => r.statusCode === 101).length;
    const answer: AtSendResponse = {
      SMSMessageData: {
        Message: `Sent to ${accepted}/${recipients.length} Total Cost: KES ${(0.8 * parts * accepted).toFixed(4)}`,
        Recipients: recipients,
      },
    };
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(answer));
  }

  private _takeFault(): StandInFault | undefined {
    if (this.fault === undefined) return undefined;
    const fault = this.fault;
    if (--this.faultCount <= 0) this.fault = undefined;
    return fault;
  }
}

async function _postForm(url: string | undefined, form: Record<string, string>): Promise<number> {
  if (url === undefined) throw new Error("stand-in: no URL to post to (pass deliveryUrl)");
  const response = await fetch(url, { method: "POST", body: new URLSearchParams(form) });
  await response.arrayBuffer();
  return response.status;
}
