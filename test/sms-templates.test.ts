// SMS texts: the GSM 03.38 segment counter (both tables, 160/153 and 70/67 limits, no split escape or surrogate
// pair), the code grouped for reading and typed back into each keypad's framer, and every template in every language
// at its longest staying GSM-7 within 2 segments.
import fc from "fast-check";
import { FRAMES, Framer, type FrameName } from "../firmware/io/framing";
import { encodeCode, type DeviceSecrets } from "../fleet/codes";
import { countSegments, gsm7Septets } from "../hub/sms/gsm";
import { LANGUAGES, MAX_DAYS, MAX_MINOR, readableCode, renderSms, type SmsTemplate } from "../hub/sms/templates";

describe("countSegments (GSM 03.38)", () => {
  it("counts basic characters 1 septet and extension characters 2", () => {
    for (const c of "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà\n\r ")
      expect(gsm7Septets(c)).toBe(1);
    for (const c of "\f^{}\\[~]|€") expect(gsm7Septets(c)).toBe(2);
    for (const c of "êâîôûçÀ`\u001b\u00a0\u202fœ😀") expect(gsm7Septets(c)).toBeUndefined();
  });

  it("fits 160 septets in one SMS and 153 per part beyond", () => {
    expect(countSegments("")).toEqual({ encoding: "gsm7", units: 0, segments: 1 });
    expect(countSegments("a".repeat(160))).toEqual({ encoding: "gsm7", units: 160, segments: 1 });
    expect(countSegments("a".repeat(161))).toEqual({ encoding: "gsm7", units: 161, segments: 2 });
    expect(countSegments("a".repeat(306)).segments).toBe(2);
    expect(countSegments("a".repeat(307)).segments).toBe(3);
    expect(countSegments("€".repeat(80))).toEqual({ encoding: "gsm7", units: 160, segments: 1 });
  });

  it("never splits an escape pair across parts", () => {
    // 152 septets then a 2-septet euro: 154 > 153, so the euro opens part 2 whole.
    expect(countSegments("a".repeat(152) + "€" + "a".repeat(7)).segments).toBe(2);
    expect(countSegments("a".repeat(152) + "€" + "a".repeat(152)).segments).toBe(3);
    expect(countSegments("a".repeat(151) + "€" + "a".repeat(153)).segments).toBe(2);
  });

  it("switches the whole text to UCS-2 for one character outside GSM-7: 70 units, 67 per part", () => {
    expect(countSegments("ê")).toEqual({ encoding: "ucs2", units: 1, segments: 1 });
    expect(countSegments("ê" + "a".repeat(69)).segments).toBe(1);
    expect(countSegments("ê" + "a".repeat(70))).toEqual({ encoding: "ucs2", units: 71, segments: 2 });
    // An emoji is 2 UTF-16 units and never split: 66 units then the pair goes whole into part 2.
    expect(countSegments("ê" + "a".repeat(65) + "😀" + "a".repeat(5))).toEqual({
      encoding: "ucs2",
      units: 73,
      segments: 2,
    });
    expect(countSegments("a".repeat(160) + "ç").segments).toBe(3);
  });

  it("agrees with a reference count over random texts", () => {
    const alphabet = fc.constantFrom(..."aZ09 .é€[ê😀\n");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 400 }), (chars) => {
        const text = chars.join("");
        const got = countSegments(text);
        const gsm = chars.every((c) => gsm7Septets(c) !== undefined);
        const sizes = chars.map((c) => (gsm ? gsm7Septets(c)! : c.length));
        const units = sizes.reduce((a, b) => a + b, 0);
        expect(got.encoding).toBe(gsm ? "gsm7" : "ucs2");
        expect(got.units).toBe(units);
        // Greedy packing: each part is full but for less than one character's size, and none overflows.
        const part = gsm ? 153 : 67;
        const minParts = units <= (gsm ? 160 : 70) ? 1 : Math.ceil(units / part);
        expect(got.segments).toBeGreaterThanOrEqual(minParts);
        expect(got.segments).toBeLessThanOrEqual(Math.max(1, Math.ceil(units / (part - 1))));
      }),
    );
  });

  it("refuses a value that is not a string", () => {
    for (const bad of [undefined, null, 5, {}, ["a"]]) expect(() => countSegments(bad as string)).toThrow(TypeError);
  });
});

const SECRETS: DeviceSecrets = {
  deviceId: 1234,
  protocol: "nexus-full",
  key: new Uint8Array(16).fill(7),
  startingCode: 123456789,
  timeDivider: 1,
  extended: false,
  restricted: false,
};

/** Keys a customer presses reading `shown`: everything but the spaces. */
function typeInto(frame: FrameName, shown: string): string | undefined {
  const framer = new Framer(FRAMES[frame]);
  let entry: string | undefined;
  for (const key of shown.replace(/ /g, "")) {
    const r = framer.press(key);
    if (r.kind === "entry") entry = r.digits;
  }
  return entry;
}

describe("readableCode", () => {
  const cases: [FrameName, Partial<DeviceSecrets>, string][] = [
    ["nexus-full", { protocol: "nexus-full" }, "*535 392 201 659 46#"],
    ["nexus-small", { protocol: "nexus-small" }, "153 244 553 542 544"],
    ["openpaygo", { protocol: "openpaygo" }, "*921 545 796#"],
    ["openpaygo-restricted", { protocol: "openpaygo", restricted: true }, "123 412 341 234 123"],
  ];

  it.each(cases)("groups a real %s code by three and it types back into the same entry", (frame, secrets) => {
    const { keycode } = encodeCode({ ...SECRETS, ...secrets }, { kind: "add", seconds: 7 * 86400 }, 30);
    const shown = readableCode({ keycode, frame });
    expect(shown).toMatch(/^\*?\d{3}( \d{1,3})+#?$/);
    // Typed key by key, the grouped code is the entry the protocol verifies: the code's digits without its start
    // and end keys (Nexus small's start key is the digit 1).
    const keys = keycode.replace(/[ *#]/g, "");
    expect(typeInto(frame, shown)).toBe(frame === "nexus-small" ? keys.slice(1) : keys);
  });

  it.each(cases)("shows a %s code as the customer types it", (frame, _secrets, example) => {
    expect(readableCode({ keycode: example.replace(/ /g, ""), frame })).toBe(example);
    expect(readableCode({ keycode: example, frame })).toBe(example);
  });

  it("refuses a keycode its keypad cannot type", () => {
    for (const [frame, keycode] of [
      ["openpaygo", "12345678"], // too short
      ["openpaygo", "1234567890123"], // too long
      ["openpaygo", "12345678a"],
      ["nexus-small", "1234567890123456"], // digits outside 2-5
      ["openpaygo-restricted", "123456789012345"], // digits outside 1-4
      ["nexus-full", ""],
    ] as const)
      expect(() => readableCode({ keycode, frame })).toThrow(RangeError);
    expect(() => readableCode({ keycode: 123 as unknown as string, frame: "openpaygo" })).toThrow(TypeError);
    expect(() => readableCode({ keycode: "123456789", frame: "qwerty" as FrameName })).toThrow(RangeError);
  });
});

/** Each frame's longest code, all 9s or its highest key (worst case for length). */
function longestCode(frame: FrameName): string {
  const spec = FRAMES[frame];
  return (spec.start ?? "") + spec.digits.at(-1)!.repeat(spec.maxDigits) + (spec.end ?? "");
}

/** Every template at its longest: the longest code of each keypad, the largest amounts with decimals, most days. */
function worstCases(): SmsTemplate[] {
  const big = { minor: MAX_MINOR - 1, currency: "KES" };
  return (Object.keys(FRAMES) as FrameName[]).flatMap((frame) => {
    const code = { keycode: longestCode(frame), frame };
    return [
      { kind: "code", code, days: MAX_DAYS, left: big },
      { kind: "unlock", code },
      { kind: "balance", paid: big, left: big },
    ] as SmsTemplate[];
  });
}

describe("renderSms", () => {
  const code = { keycode: "*535 392 201 659 46#", frame: "nexus-full" } as const;
  const KES = (minor: number) => ({ minor, currency: "KES" });

  it("says the code, the days and the balance in each language", () => {
    const message: SmsTemplate = { kind: "code", code, days: 7, left: KES(1_250_000) };
    expect(renderSms("en", message)).toBe(
      "Solar code: *535 392 201 659 46# = 7 days. Left to pay: KES 12,500. Reply BALANCE or RESEND.",
    );
    expect(renderSms("sw", message)).toBe(
      "Msimbo wa sola: *535 392 201 659 46# = siku 7. Bado kulipa: KES 12,500. Jibu SALIO au TENA.",
    );
    expect(renderSms("fr", message)).toBe(
      "Code solaire : *535 392 201 659 46# = 7 jours. Reste à payer : 12 500 KES. Répondez SOLDE ou RENVOI.",
    );
    expect(renderSms("en", { kind: "code", code, days: 1, left: null })).toBe(
      "Solar code: *535 392 201 659 46# = 1 day. Reply BALANCE or RESEND.",
    );
  });

  it("shows amounts in the currency's minor unit: decimals only when there are any", () => {
    const balance = (paid: number, currency = "KES"): string =>
      renderSms("en", { kind: "balance", paid: { minor: paid, currency }, left: null });
    expect(balance(150_050)).toBe("Paid: KES 1,500.50. Thank you!");
    expect(balance(150_000)).toBe("Paid: KES 1,500. Thank you!");
    expect(balance(5)).toBe("Paid: KES 0.05. Thank you!");
    expect(balance(1_500_000, "UGX")).toBe("Paid: UGX 1,500,000. Thank you!"); // UGX has no minor unit
    expect(renderSms("fr", { kind: "balance", paid: KES(123_456_789), left: KES(0) })).toBe(
      "Payé : 1 234 567,89 KES. Reste à payer : 0 KES.",
    );
  });

  it("keeps every template in GSM-7 within 2 segments at its longest, and within 1 as usually sent", () => {
    for (const language of LANGUAGES) {
      for (const message of worstCases()) {
        const text = renderSms(language, message);
        const count = countSegments(text);
        expect({ text, ...count }).toMatchObject({ encoding: "gsm7" });
        expect(count.segments).toBeLessThanOrEqual(2);
      }
      // A 14-digit Nexus code, a month, KES 99,999.99 left: one SMS.
      const usual: SmsTemplate = { kind: "code", code, days: 30, left: KES(9_999_999) };
      expect(countSegments(renderSms(language, usual)).segments).toBe(1);
    }
  });

  it("refuses values no template can show", () => {
    const bad: SmsTemplate[] = [
      { kind: "code", code, days: 0, left: null },
      { kind: "code", code, days: 1.5, left: null },
      { kind: "code", code, days: MAX_DAYS + 1, left: null },
      { kind: "balance", paid: KES(-1), left: null },
      { kind: "balance", paid: KES(0.5), left: null },
      { kind: "balance", paid: KES(MAX_MINOR + 1), left: null },
      { kind: "balance", paid: { minor: 1, currency: "kes" }, left: null },
      { kind: "balance", paid: { minor: 1, currency: "KESH" }, left: null },
    ];
    for (const message of bad) expect(() => renderSms("en", message)).toThrow(RangeError);
    expect(() => renderSms("de" as "en", { kind: "unlock", code })).toThrow(RangeError);
  });
});
